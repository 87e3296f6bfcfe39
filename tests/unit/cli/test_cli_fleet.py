"""`wattcast fleet train|status|list|result|cancel` against a scripted API (httpx's
MockTransport: requests and the event stream as the API sends them); the commands against the
real API are in tests/integration/api/test_cli_fleets_against_the_real_api.py."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from wattcast.cli import app as cli_app
from wattcast.cli.client import FLEETTRAININGJOBS, ApiClient
from wattcast.cli.fleetrender import fleet_bar, fleet_bar_fields
from wattcast.cli.main import app
from wattcast.cli.watching import wait_for_job

RANGE = ["--start", "2024-01-01T00:00:00Z", "--end", "2024-03-01T00:00:00Z"]
FAILURES = [{"meter": "meter2", "reason": "NoData", "message": "no points in the range"}]


def fleet(stage: str = "Running", **status: Any) -> dict[str, Any]:
    finished = stage in {"Succeeded", "Failed", "Cancelled"}
    done = 4 if finished else 2
    return {
        "name": "fleet-1",
        "namespace": "ns",
        "resourceVersion": "1",
        "stage": stage,
        "finished": finished,
        "phase": stage if stage != "Cancelled" else "Running",
        "progress": done * 25,
        "metersFinished": done,
        "metersTotal": 4,
        "cancelled": stage == "Cancelled",
        "spec": {"meters": {"ids": ["meter1", "meter2", "meter3", "meter4"]}, "meterType": "water"},
        "status": {
            "counts": {"total": 4, "succeeded": done - 1, "failed": 1, "promoted": 1},
            "failures": FAILURES,
            **status,
        },
    }


DONE = fleet(
    "Succeeded",
    counts={"total": 4, "succeeded": 1, "failed": 3, "promoted": 1, "beatBaseline": 1},
    metrics={
        "maeOverBestBaseline": {"median": 0.8125, "p90": 0.95, "meters": 1},
        "histogram": [{"le": 0.8, "count": 0}, {"le": 0.85, "count": 1}, {"count": 0}],
    },
)


@dataclass
class Scripted:
    """Answers by (method, path); records every request."""

    routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = field(
        default_factory=dict
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, status: int, body: Any) -> None:
        self.routes[(method, path)] = lambda _: httpx.Response(status, json=body)

    def stream(self, path: str, events: list[tuple[str, dict[str, Any]]]) -> None:
        text = "".join(f"event: {kind}\ndata: {json.dumps(data)}\n\n" for kind, data in events)
        self.routes[("GET", path)] = lambda _: httpx.Response(
            200, text=text, headers={"Content-Type": "text/event-stream"}
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes.get((request.method, request.url.path))
        return answer(request) if answer else httpx.Response(404, json={"detail": "no route"})

    def client(self, **kwargs: Any) -> ApiClient:
        return ApiClient("http://api", transport=httpx.MockTransport(self.handle), **kwargs)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Scripted]:
    scripted = Scripted()

    def client(state: cli_app.State) -> ApiClient:
        return scripted.client(token=state.token, namespace=state.namespace)

    monkeypatch.setattr(cli_app.State, "client", client)
    yield scripted


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"WATTCAST_API_TOKEN": "t0ken"})
    return result.exit_code, result.stdout, result.stderr


def test_train_discover_sends_the_pattern_and_the_shard_settings(api: Scripted) -> None:
    api.on("POST", "/v1/fleettrainingjobs", 201, fleet("Pending"))
    code, out, err = run(
        "-o", "json", "fleet", "train", *RANGE, "--type", "water", "--discover",
        "--pattern", "^site-", "--parallelism", "3", "--meters-per-pod", "50",
        "--backoff-limit-per-index", "1", "--epochs", "5", "--name", "fleet-1",
    )  # fmt: skip
    assert code == 0, (out, err)
    assert json.loads(out)["name"] == "fleet-1"
    body = json.loads(api.requests[-1].content)
    assert body == {
        "meters": {"discover": {"pattern": "^site-"}},
        "meterType": "water",
        "start": "2024-01-01T00:00:00Z",
        "end": "2024-03-01T00:00:00Z",
        "name": "fleet-1",
        "model": {"epochs": 5},
        "parallelism": 3,
        "metersPerPod": 50,
        "backoffLimitPerIndex": 1,
    }
    assert api.requests[-1].headers["authorization"] == "Bearer t0ken"


def test_train_takes_meter_ids_from_options_and_a_file(api: Scripted, tmp_path: Path) -> None:
    ids = tmp_path / "meters.txt"
    ids.write_text("meter3\n# a comment\n\nmeter4  # trailing\n", encoding="utf-8")
    api.on("POST", "/v1/fleettrainingjobs", 201, fleet("Pending"))
    code, out, err = run(
        "fleet", "train", *RANGE, "--meters", "meter1,meter2", "--meters-file", str(ids)
    )
    assert code == 0, (out, err)
    assert "wattcast fleet status fleet-1 --watch" in " ".join(out.split())
    body = json.loads(api.requests[-1].content)
    assert body["meters"] == {"ids": ["meter1", "meter2", "meter3", "meter4"]}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], "--meters, --meters-file, or --discover"),
        (["--meters", "m1", "--pattern", "x"], "--pattern goes with --discover"),
        (["--meters-file", "/nonexistent/meters.txt"], "cannot read --meters-file"),
    ],
    ids=["no-meters", "pattern-without-discover", "missing-file"],
)
def test_a_usage_error_sends_nothing(api: Scripted, args: list[str], words: str) -> None:
    code, _, err = run("fleet", "train", *RANGE, *args)
    assert code == 2
    assert words in err
    assert api.requests == []


def test_both_ids_and_discover_go_to_the_api_which_refuses_them(api: Scripted) -> None:
    refusal = {
        "detail": "Invalid request: meters: exactly one of meters.ids and meters.discover",
        "code": "invalid",
        "errors": [{"field": "meters", "message": "exactly one of ...", "type": "x"}],
    }
    api.on("POST", "/v1/fleettrainingjobs", 422, refusal)
    code, _, err = run("fleet", "train", *RANGE, "--meters", "m1", "--discover")
    assert code == 3
    assert "422" in err and "meters: exactly one of" in err
    assert json.loads(api.requests[-1].content)["meters"] == {"ids": ["m1"], "discover": {}}


def test_train_wait_follows_the_stream_and_shows_the_result(api: Scripted) -> None:
    api.on("POST", "/v1/fleettrainingjobs", 201, fleet("Pending"))
    api.stream(
        "/v1/fleettrainingjobs/fleet-1/events",
        [("ADDED", fleet()), ("SYNCED", {"count": 1}), ("MODIFIED", DONE)],
    )
    code, out, err = run("fleet", "train", *RANGE, "--meters", "m1", "--wait")
    assert code == 0, (out, err)
    assert "Succeeded" in out and "beat baseline" in out
    assert "median 0.812" in out and "p90 0.950" in out
    assert "meter2" in out and "NoData" in out
    assert "the first 1 of 3 failed meters" in out


@pytest.mark.parametrize(
    ("body", "code"),
    [(fleet(), 5), (DONE, 0), (fleet("Failed"), 1), (fleet("Cancelled"), 1)],
    ids=["running", "succeeded", "failed", "cancelled"],
)
def test_result_exit_codes(api: Scripted, body: dict[str, Any], code: int) -> None:
    api.on("GET", "/v1/fleettrainingjobs/fleet-1", 200, body)
    exit_code, out, err = run("fleet", "result", "fleet-1")
    assert exit_code == code, (out, err)
    if code == 5:
        assert "has not finished" in err and "50%" in err
    else:
        assert "failed meters" in out


def test_result_shows_the_histogram_of_mae_over_baseline(api: Scripted) -> None:
    api.on("GET", "/v1/fleettrainingjobs/fleet-1", 200, DONE)
    code, out, _ = run("fleet", "result", "fleet-1")
    assert code == 0
    assert "MAE / best baseline across meters" in out
    assert "0.80-0.85" in out and "#" in out
    assert "0.75-0.80" not in out, "empty buckets are left out"


def test_the_open_bucket_reads_as_above_the_last_edge(api: Scripted) -> None:
    histogram = [{"le": 1.95, "count": 0}, {"le": 2.0, "count": 2}, {"count": 4}]
    metrics = {**DONE["status"]["metrics"], "histogram": histogram}
    body = {**DONE, "status": {**DONE["status"], "metrics": metrics}}
    api.on("GET", "/v1/fleettrainingjobs/fleet-1", 200, body)
    code, out, _ = run("fleet", "result", "fleet-1")
    assert code == 0
    assert "1.95-2.00" in out and "> 2.00" in out


def test_list_passes_the_filters_and_shows_counts(api: Scripted) -> None:
    api.on("GET", "/v1/fleettrainingjobs", 200, {"items": [fleet()], "count": 1})
    code, out, err = run("fleet", "list", "--type", "water", "--phase", "Running")
    assert code == 0, (out, err)
    assert "fleet-1" in out and "Running" in out and "50%" in out
    query = api.requests[-1].url.params
    assert (query["meterType"], query["phase"], query["limit"]) == ("water", "Running", "100")


def test_list_of_none_says_so(api: Scripted) -> None:
    api.on("GET", "/v1/fleettrainingjobs", 200, {"items": [], "count": 0})
    code, _, err = run("fleet", "list")
    assert code == 0 and "no fleets" in err


def test_cancel_posts_the_action_and_says_how_it_stands(api: Scripted) -> None:
    api.on("POST", "/v1/fleettrainingjobs/fleet-1/cancel", 200, fleet("Cancelled"))
    code, out, _ = run("fleet", "cancel", "fleet-1")
    assert code == 0
    assert "fleet-1 cancelled (Cancelled)" in out


def test_status_shows_meters_shards_and_failures_so_far(api: Scripted) -> None:
    shards = {"total": 2, "succeeded": 1, "failed": 0, "active": 1}
    api.on("GET", "/v1/fleettrainingjobs/fleet-1", 200, fleet(shards=shards, jobName="fleet-1"))
    code, out, _ = run("fleet", "status", "fleet-1")
    assert code == 0
    assert "2/4 meters" in out and "1 failed" in out
    assert "2 total, 1 done, 0 failed, 1 running" in out and "4 listed" in out


def test_status_watch_reads_the_fleet_when_no_stream_can_be_had(api: Scripted) -> None:
    api.on("GET", "/v1/fleettrainingjobs/fleet-1/events", 503, {"detail": "too many streams"})
    api.on("GET", "/v1/fleettrainingjobs/fleet-1", 200, DONE)
    code, out, err = run("fleet", "status", "fleet-1", "--watch", "--interval", "0.1")
    assert code == 0, (out, err)
    assert "Succeeded" in out


def test_the_live_bar_shows_meters_done_and_failed() -> None:
    scripted = Scripted()
    scripted.stream(
        "/v1/fleettrainingjobs/fleet-1/events", [("ADDED", fleet()), ("MODIFIED", DONE)]
    )
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=140)
    with scripted.client() as client:
        last = wait_for_job(
            client,
            "fleet-1",
            console=console,
            collection=FLEETTRAININGJOBS,
            bar=fleet_bar,
            fields_of=fleet_bar_fields,
        )
    assert last["stage"] == "Succeeded"
    text = screen.getvalue()
    assert "4/4 meters" in text and "3 failed" in text and "100%" in text
