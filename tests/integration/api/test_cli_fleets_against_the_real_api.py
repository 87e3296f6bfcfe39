"""`wattcast fleet ...` against the real API app on the test bed: what it creates, the
not-yet-finished result, the result once the operator reported it (counts, aggregate metrics,
the failure table), the live wait, list and cancel, and the API's 422 for a bad selection."""

from __future__ import annotations

import json
import threading
import time

from api_support import ServedApp
from cli_support import RANGE, run
from testkit import TrainingJobs

SUCCEEDED = {
    "phase": "Succeeded",
    "progress": {"finished": 3, "total": 3, "percent": 100},
    "counts": {"total": 3, "succeeded": 2, "failed": 1, "promoted": 2, "beatBaseline": 1},
    "failures": [{"meter": "meter3", "reason": "NoData", "message": "no points in the range"}],
    "metrics": {
        "maeOverBestBaseline": {"median": 0.9, "p90": 1.2, "meters": 2},
        "histogram": [{"le": 0.9, "count": 1}, {"le": 1.2, "count": 1}, {"count": 0}],
    },
}


def test_fleet_train_creates_the_fleet_and_result_shows_it_once_finished(
    served_api: ServedApp, fleets: TrainingJobs
) -> None:
    code, out, err = run(
        served_api.url, "-o", "json", "fleet", "train", *RANGE, "--type", "water",
        "--meters", "meter1,meter2,meter3", "--parallelism", "2", "--meters-per-pod", "2",
        "--name", "fleet-cli",
    )  # fmt: skip
    assert code == 0, (out, err)
    stored = fleets.get("fleet-cli")
    assert stored["spec"]["meters"] == {"ids": ["meter1", "meter2", "meter3"]}
    assert (stored["spec"]["parallelism"], stored["spec"]["metersPerPod"]) == (2, 2)
    assert json.loads(out)["stage"] == "Pending"

    code, _, err = run(served_api.url, "fleet", "result", "fleet-cli")
    assert code == 5 and "has not finished" in err

    fleets.patch_status("fleet-cli", SUCCEEDED)
    code, out, err = run(served_api.url, "fleet", "result", "fleet-cli")
    assert code == 0, (out, err)
    for words in ("Succeeded", "beat baseline", "median 0.900", "p90 1.200", "meter3", "NoData"):
        assert words in out, words


def test_fleet_train_wait_follows_the_stream_to_the_end(
    served_api: ServedApp, fleets: TrainingJobs
) -> None:
    def operator() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "fleet-wait" in fleets.names():
                time.sleep(0.5)
                fleets.patch_status("fleet-wait", SUCCEEDED)
                return
            time.sleep(0.1)

    thread = threading.Thread(target=operator, daemon=True)
    thread.start()
    code, out, err = run(
        served_api.url, "fleet", "train", *RANGE, "--discover", "--pattern", "^meter",
        "--name", "fleet-wait", "--wait", "--wait-timeout", "60",
    )  # fmt: skip
    thread.join()
    assert code == 0, (out, err)
    assert "Succeeded" in out and "meter3" in out
    assert fleets.get("fleet-wait")["spec"]["meters"] == {"discover": {"pattern": "^meter"}}


def test_fleet_list_and_cancel(served_api: ServedApp, fleets: TrainingJobs) -> None:
    for name in ("fleet-a", "fleet-b"):
        assert (
            run(served_api.url, "fleet", "train", *RANGE, "--meters", "m1", "--name", name)[0] == 0
        )
    code, out, _ = run(served_api.url, "-o", "json", "fleet", "list")
    assert code == 0
    assert sorted(item["name"] for item in json.loads(out)["items"]) == ["fleet-a", "fleet-b"]
    code, out, _ = run(served_api.url, "fleet", "list", "--phase", "Running")
    assert code == 0 and "fleet-" not in out
    code, out, _ = run(served_api.url, "fleet", "cancel", "fleet-a")
    assert code == 0 and "fleet-a cancelled (Cancelled)" in out
    assert fleets.get("fleet-a")["spec"]["suspend"] is True
    code, _, err = run(served_api.url, "fleet", "result", "fleet-a")
    assert code == 1, err


def test_a_bad_selection_is_the_apis_422_and_creates_nothing(
    served_api: ServedApp, fleets: TrainingJobs
) -> None:
    code, _, err = run(
        served_api.url, "fleet", "train", *RANGE, "--discover", "--pattern", "(?=lookahead)"
    )
    assert code == 3
    assert "422" in err and "meters.discover.pattern" in err
    code, _, err = run(served_api.url, "fleet", "train", *RANGE, "--meters", "m1", "--discover")
    assert code == 3 and "exactly one of meters.ids and meters.discover" in err
    assert fleets.names() == []
