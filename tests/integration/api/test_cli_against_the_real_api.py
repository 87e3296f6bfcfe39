"""The `wattcast` CLI against the real API app (over loopback HTTP, with its real Kubernetes
client on the test bed): what it sends, what it prints, and its exit codes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from api_support import ServedApp
from cli_support import FAILED, RANGE, SUCCESS_RESULT, run, submit
from testkit import TrainingJobs, free_port
from typer.testing import CliRunner

from wattcast.cli.main import app
from wattcast.crd import constants


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "status", "list", "result", "suspend", "resume", "cancel"):
        assert command in result.stdout


def test_train_creates_the_trainingjob_it_was_asked_for(
    served_api: ServedApp, cluster: TrainingJobs
) -> None:
    code, out, err = run(
        served_api.url,
        "-o",
        "json",
        "--namespace",
        cluster.namespace,
        "train",
        "meter1",
        "--type",
        "water",
        *RANGE,
        "--epochs",
        "3",
        "--lookback-hours",
        "48",
        "--horizon-hours",
        "12",
        "--holdout-days",
        "5",
        "--model-type",
        "lstm",
        "--source",
        "archive",
        "--backoff-limit",
        "1",
        "--deadline",
        "600",
        "--name",
        "tj-1",
        "--idempotency-key",
        "k-1",
    )
    assert code == 0, (out, err)
    shown = json.loads(out)
    assert (shown["name"], shown["taskStatus"], shown["stage"]) == ("tj-1", "PENDING", "Pending")
    assert served_api.requests == [("POST", "/v1/trainingjobs")]
    made = cluster.get("tj-1")
    assert made["metadata"]["annotations"][constants.ANNOTATION_IDEMPOTENCY_KEY] == "k-1"
    spec = made["spec"]
    assert (spec["meterId"], spec["meterType"]) == ("meter1", "water")
    assert (spec["start"], spec["end"]) == ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")
    assert spec["source"] == {"name": "archive"}
    assert {k: spec["model"][k] for k in ("type", "epochs", "lookbackHours")} == {
        "type": "lstm",
        "epochs": 3,
        "lookbackHours": 48,
    }
    assert (spec["model"]["horizonHours"], spec["model"]["holdoutDays"]) == (12, 5)
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (1, 600)


def test_train_without_wait_says_how_to_follow(api_url: str, cluster: TrainingJobs) -> None:
    code, out, _ = run(api_url, "train", "meter1", *RANGE)
    assert code == 0
    (name,) = cluster.names()
    assert f"submitted {name}" in out
    assert f"wattcast status {name} --watch" in out


def test_status_shows_stage_progress_epoch_and_eta(api_url: str, cluster: TrainingJobs) -> None:
    submit(api_url, "tj-6")
    training = {"epoch": 3, "epochs": 10, "etaSeconds": 75}
    cluster.patch_status("tj-6", {"phase": "Training", "progress": 55, "training": training})
    code, out, _ = run(api_url, "status", "tj-6")
    assert code == 0
    for shown in ("TRAINING", "Training", "55%", "epoch 3/10", "ETA 1:15"):
        assert shown in out


def test_status_of_a_failed_job_shows_the_apis_reason(api_url: str, cluster: TrainingJobs) -> None:
    submit(api_url, "tj-f")
    cluster.patch_status("tj-f", FAILED)
    code, out, _ = run(api_url, "status", "tj-f")
    assert code == 0
    assert "FAILURE" in out and "DataInsufficient" in out


def test_result_of_success_failure_and_running(api_url: str, cluster: TrainingJobs) -> None:
    for name in ("ok", "bad", "busy"):
        submit(api_url, name)
    cluster.patch_status("ok", {"phase": "Succeeded", "progress": 100, "result": SUCCESS_RESULT})
    cluster.patch_status("bad", FAILED)
    cluster.patch_status("busy", {"phase": "Training", "progress": 60})
    code, out, _ = run(api_url, "result", "ok")
    assert code == 0
    assert "744" in out and "0.12" in out and "naiveWeekly" in out
    assert "models/electricity/meter1/versions/20260101T000000Z/model.keras" in out
    code, out, _ = run(api_url, "result", "bad")
    assert code == 1
    assert "DataInsufficient" in out and "at least 14 are needed" in out
    code, _, err = run(api_url, "result", "busy")
    assert code == 5
    assert "has not finished" in err


def test_list_follows_pages_and_filters_on_the_server(
    served_api: ServedApp, cluster: TrainingJobs
) -> None:
    for name in ("a", "b", "c"):
        submit(served_api.url, name, "--type", "water")
    submit(served_api.url, "d")  # electricity: filtered out
    for name in ("a", "b", "d"):
        cluster.patch_status(name, {"phase": "Training", "progress": 5})
    served_api.requests.clear()
    code, out, _ = run(
        served_api.url,
        "-o",
        "json",
        "list",
        "--all",
        "--meter-id",
        "meter1",
        "--type",
        "water",
        "--phase",
        "Training",
        "--limit",
        "1",
    )
    assert code == 0
    assert sorted(j["name"] for j in json.loads(out)["items"]) == ["a", "b"]
    assert len(served_api.requests) >= 2  # one page per request


def test_list_table_and_empty(api_url: str, cluster: TrainingJobs) -> None:
    code, _, err = run(api_url, "list")
    assert code == 0
    assert "no TrainingJobs" in err
    submit(api_url, "tj-a")
    cluster.patch_status("tj-a", {"phase": "Succeeded", "progress": 100})
    code, out, _ = run(api_url, "list")
    assert code == 0
    assert "tj-a" in out and "SUCCESS" in out and "100%" in out


def test_suspend_resume_cancel_and_delete(api_url: str, cluster: TrainingJobs) -> None:
    submit(api_url, "tj-7")
    code, out, _ = run(api_url, "suspend", "tj-7")
    assert (code, "tj-7 suspended" in out) == (0, True)
    assert cluster.get("tj-7")["spec"]["suspend"] is True
    code, out, _ = run(api_url, "resume", "tj-7")
    assert (code, "tj-7 resumed" in out) == (0, True)
    assert cluster.get("tj-7")["spec"]["suspend"] is False
    code, out, _ = run(api_url, "cancel", "tj-7")
    assert code == 0
    assert "tj-7 cancelled (REVOKED)" in out
    code, _, err = run(api_url, "resume", "tj-7")
    assert code == 3
    assert "409" in err
    code, out, _ = run(api_url, "-o", "json", "delete", "tj-7")
    assert code == 0
    assert json.loads(out) == {"name": "tj-7", "deleted": True}
    assert cluster.names() == []


def test_an_unknown_job_is_refused_with_exit_3(api_url: str) -> None:
    code, _, err = run(api_url, "status", "nope")
    assert code == 3
    assert "404" in err and "nope" in err


def test_no_token_is_refused_with_a_hint(api_url: str) -> None:
    code, _, err = run(api_url, "status", "tj-9", token=None)
    assert code == 3
    assert "401" in err and "WATTCAST_API_TOKEN" in err


def test_field_errors_are_listed(api_url: str, cluster: TrainingJobs) -> None:
    code, _, err = run(api_url, "train", "bad id", *RANGE)
    assert code == 3
    assert "422" in err and "meterId" in err
    code, _, err = run(api_url, "train", "meter1", *RANGE, "--source", "nowhere")
    assert code == 3
    assert "nowhere" in err
    assert cluster.names() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "m", "--start", "2024-01-01T00:00:00", "--end", "2024-02-01T00:00:00Z"],
            "--start needs a time zone",
        ),
        (["--api-url", "ftp://x", "status", "a"], "must start with http://"),
    ],
    ids=["naive-start", "bad-url"],
)
def test_bad_usage_exits_2_before_any_request(
    served_api: ServedApp, args: list[str], message: str
) -> None:
    code, _, err = run(served_api.url, *args)
    assert code == 2
    assert message in err
    assert served_api.requests == []


def test_unreachable_api_exits_4() -> None:
    port = free_port()  # nothing listens there
    code, _, err = run(f"http://127.0.0.1:{port}", "status", "x")
    assert code == 4
    assert "cannot reach the API" in err


@pytest.fixture
def not_the_api(tmp_path: Path) -> Iterator[str]:
    """A plain static web server where the API should be: a path that exists, but no JSON."""
    page = tmp_path / "v1" / "trainingjobs" / "tj-x"
    page.parent.mkdir(parents=True)
    page.write_text("<html>not the API</html>", encoding="utf-8")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_is_not_the_api_exits_4(not_the_api: str) -> None:
    code, _, err = run(not_the_api, "status", "tj-x")
    assert code == 4
    assert "is --api-url the wattcast API?" in err
