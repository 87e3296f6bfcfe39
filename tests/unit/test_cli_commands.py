"""The `wattcast` CLI against a scripted API over real HTTP: requests it sends, what it prints,
and its exit codes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from test_cli_fake_api import FakeApi, job, serve
from typer.testing import CliRunner

from wattcast.cli.main import app

RANGE = ["--start", "2024-01-01T00:00:00Z", "--end", "2024-02-01T00:00:00Z"]
SUCCESS_RESULT = {
    "modelPath": "electricity/meter1/versions/20260101T000000Z/model.keras",
    "dataPoints": 744,
    "trainingCompleted": "2026-01-01T00:01:00Z",
    "metrics": {
        "holdout": {"start": "2024-01-25T00:00:00Z", "end": "2024-02-01T00:00:00Z", "points": 168},
        "model": {"mae": 0.12, "rmse": 0.2, "smape": 9.5},
        "baselines": {
            "naiveDaily": {"mae": 0.2, "rmse": 0.3, "smape": 14.0},
            "naiveWeekly": {"mae": 0.25, "rmse": 0.35, "smape": 16.0},
        },
    },
}
FAILED_CONDITIONS = [
    {
        "type": "Failed",
        "status": "True",
        "reason": "NoData",
        "message": "no data",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
]


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake, server = serve()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def run(api: FakeApi, *args: str, token: str | None = "t0ken") -> tuple[int, str, str]:
    env = {"WATTCAST_API_URL": api.url}
    if token:
        env["WATTCAST_API_TOKEN"] = token
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "status", "list", "result", "suspend", "resume", "cancel"):
        assert command in result.stdout


def test_train_sends_the_spec_token_and_idempotency_key(api: FakeApi) -> None:
    api.on("POST", "/v1/trainingjobs", (201, job("tj-1")))
    code, out, _ = run(
        api,
        "-o",
        "json",
        "--namespace",
        "team-a",
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
        "legacy",
        "--backoff-limit",
        "1",
        "--deadline",
        "600",
        "--name",
        "tj-1",
        "--idempotency-key",
        "k-1",
    )
    assert code == 0, out
    assert json.loads(out)["name"] == "tj-1"
    (request,) = api.requests
    assert request.headers["authorization"] == "Bearer t0ken"
    assert request.headers["idempotency-key"] == "k-1"
    assert request.query == {"namespace": ["team-a"]}
    assert request.body == {
        "meterId": "meter1",
        "meterType": "water",
        "start": "2024-01-01T00:00:00Z",
        "end": "2024-02-01T00:00:00Z",
        "name": "tj-1",
        "source": {"name": "legacy"},
        "model": {
            "type": "lstm",
            "epochs": 3,
            "lookbackHours": 48,
            "horizonHours": 12,
            "holdoutDays": 5,
        },
        "backoffLimit": 1,
        "activeDeadlineSeconds": 600,
    }


def test_train_without_wait_says_how_to_follow(api: FakeApi) -> None:
    api.on("POST", "/v1/trainingjobs", (201, job("tj-2")))
    code, out, _ = run(api, "train", "meter1", *RANGE)
    assert code == 0
    assert "submitted tj-2" in out
    assert "wattcast status tj-2 --watch" in out


def test_train_wait_follows_to_success(api: FakeApi) -> None:
    api.on("POST", "/v1/trainingjobs", (201, job("tj-3")))
    api.on(
        "GET",
        "/v1/trainingjobs/tj-3",
        (200, job("tj-3", "PENDING")),
        (200, job("tj-3", "TRAINING", 50, training={"epoch": 1, "epochs": 2, "etaSeconds": 3})),
        (200, job("tj-3", "SUCCESS", 100, result=SUCCESS_RESULT)),
    )
    code, out, _ = run(api, "train", "meter1", *RANGE, "--wait", "--interval", "0.1")
    assert code == 0, out
    assert "models/electricity/meter1/versions/20260101T000000Z/model.keras" in out
    assert "naiveDaily" in out
    assert len([r for r in api.requests if r.method == "GET"]) == 3


def test_train_wait_exits_1_on_failure_with_json(api: FakeApi) -> None:
    api.on("POST", "/v1/trainingjobs", (201, job("tj-4")))
    api.on(
        "GET",
        "/v1/trainingjobs/tj-4",
        (200, job("tj-4", "FAILURE", 0, message="NoData: none", conditions=FAILED_CONDITIONS)),
    )
    code, out, _ = run(api, "-o", "json", "train", "meter1", *RANGE, "--wait", "--interval", "0.1")
    assert code == 1
    assert json.loads(out)["taskStatus"] == "FAILURE"


def test_wait_gives_up_at_its_timeout(api: FakeApi) -> None:
    api.on("GET", "/v1/trainingjobs/tj-5", (200, job("tj-5", "TRAINING", 40)))
    code, _, err = run(api, "status", "tj-5", "--watch", "--wait-timeout", "1", "--interval", "0.2")
    assert code == 5
    assert "has not finished after 1s (status TRAINING)" in err


def test_status_shows_the_job(api: FakeApi) -> None:
    api.on(
        "GET",
        "/v1/trainingjobs/tj-6",
        (200, job("tj-6", "TRAINING", 55, training={"epoch": 3, "epochs": 10, "etaSeconds": 75})),
    )
    code, out, _ = run(api, "status", "tj-6")
    assert code == 0
    assert "TRAINING" in out and "55%" in out and "epoch 3/10" in out and "ETA 1:15" in out


@pytest.mark.parametrize(
    ("status", "body", "code", "expected"),
    [
        (
            404,
            {"detail": "TrainingJob nope not found", "code": "not_found"},
            3,
            "404: TrainingJob nope not found",
        ),
        (401, {"detail": "missing bearer token", "code": "unauthorized"}, 3, "WATTCAST_API_TOKEN"),
        (409, {"detail": "finished", "code": "conflict"}, 3, "409: finished"),
        (503, {"detail": "Kubernetes is unavailable", "code": "unavailable"}, 4, "503"),
        (500, "Internal Server Error", 4, "500: Internal Server Error"),
        (200, "<html>not the API</html>", 4, "is --api-url the wattcast API?"),
    ],
    ids=["not-found", "unauthorized", "conflict", "unavailable", "plain-500", "not-json"],
)
def test_api_errors_become_exit_codes(
    api: FakeApi, status: int, body: object, code: int, expected: str
) -> None:
    api.on("GET", "/v1/trainingjobs/nope", (status, body))
    exit_code, _, err = run(api, "status", "nope")
    assert exit_code == code
    assert expected in err


def test_field_errors_are_listed(api: FakeApi) -> None:
    api.on(
        "POST",
        "/v1/trainingjobs",
        (
            422,
            {
                "detail": "Invalid request",
                "code": "invalid",
                "errors": [
                    {
                        "field": "meterId",
                        "location": ["body", "meterId"],
                        "message": "bad id",
                        "type": "x",
                    }
                ],
            },
        ),
    )
    code, _, err = run(api, "train", "bad id", *RANGE)
    assert code == 3
    assert "meterId: bad id" in err


def test_unreachable_api_exits_4() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = CliRunner().invoke(
        app, ["status", "x"], env={"WATTCAST_API_URL": f"http://127.0.0.1:{port}"}
    )
    assert result.exit_code == 4
    assert "cannot reach the API" in result.stderr


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
def test_bad_usage_exits_2(api: FakeApi, args: list[str], message: str) -> None:
    code, _, err = run(api, *args)
    assert code == 2
    assert message in err
    assert not api.requests


def test_result_of_success_failure_and_running(api: FakeApi) -> None:
    api.on("GET", "/v1/trainingjobs/ok", (200, job("ok", "SUCCESS", 100, result=SUCCESS_RESULT)))
    api.on(
        "GET",
        "/v1/trainingjobs/bad",
        (200, job("bad", "FAILURE", 10, message="NoData: no rows", conditions=FAILED_CONDITIONS)),
    )
    api.on("GET", "/v1/trainingjobs/busy", (200, job("busy", "TRAINING", 60)))
    code, out, _ = run(api, "result", "ok")
    assert code == 0
    assert "744" in out and "0.12" in out and "naiveWeekly" in out
    code, out, _ = run(api, "result", "bad")
    assert code == 1
    assert "NoData" in out and "no rows" in out
    code, _, err = run(api, "result", "busy")
    assert code == 5
    assert "has not finished" in err


def test_list_follows_pages_and_sends_filters(api: FakeApi) -> None:
    api.on(
        "GET",
        "/v1/trainingjobs",
        (200, {"items": [job("a")], "count": 1, "continue": "c1"}),
        (200, {"items": [job("b", "SUCCESS", 100)], "count": 1}),
    )
    code, out, _ = run(
        api,
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
    assert [j["name"] for j in json.loads(out)["items"]] == ["a", "b"]
    first, second = api.requests
    assert first.query == {
        "meterId": ["meter1"],
        "meterType": ["water"],
        "phase": ["Training"],
        "limit": ["1"],
    }
    assert second.query["continue"] == ["c1"]


def test_list_table_and_empty(api: FakeApi) -> None:
    api.on("GET", "/v1/trainingjobs", (200, {"items": [job("tj-a", "SUCCESS", 100)], "count": 1}))
    code, out, _ = run(api, "list")
    assert code == 0
    assert "tj-a" in out and "SUCCESS" in out and "100%" in out
    api.on("GET", "/v1/trainingjobs", (200, {"items": [], "count": 0}))
    code, _, err = run(api, "list")
    assert code == 0
    assert "no TrainingJobs" in err


@pytest.mark.parametrize(
    ("command", "word"),
    [("suspend", "SUSPENDED"), ("resume", "PENDING"), ("cancel", "REVOKED")],
)
def test_actions_post_to_their_endpoint(api: FakeApi, command: str, word: str) -> None:
    api.on("POST", f"/v1/trainingjobs/tj-7/{command}", (200, job("tj-7", word)))
    code, out, _ = run(api, command, "tj-7")
    assert code == 0
    assert word in out
    assert [(r.method, r.path) for r in api.requests] == [
        ("POST", f"/v1/trainingjobs/tj-7/{command}")
    ]


def test_delete(api: FakeApi) -> None:
    api.on("DELETE", "/v1/trainingjobs/tj-8", (204, ""))
    code, out, _ = run(api, "-o", "json", "delete", "tj-8")
    assert code == 0
    assert json.loads(out) == {"name": "tj-8", "deleted": True}


def test_no_token_sends_no_authorization(api: FakeApi) -> None:
    api.on("GET", "/v1/trainingjobs/tj-9", (200, job("tj-9")))
    code, _, _ = run(api, "status", "tj-9", token=None)
    assert code == 0
    assert "authorization" not in api.requests[0].headers
