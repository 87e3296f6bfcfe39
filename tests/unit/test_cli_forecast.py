"""`wattcast forecast METER_ID --type T [--origin] [--hours] [-o json]`, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from test_cli_fake_api import FakeApi, serve
from typer.testing import CliRunner

from wattcast.cli.main import app

BODY = {
    "meterId": "meter1",
    "meterType": "water",
    "modelVersion": "20240101T000000000000Z-abcdef",
    "resolution": "1h",
    "origin": "2024-03-01T00:00:00Z",
    "intervalLevel": 0.9,
    "promotionReason": "promoted: holdout MAE 1 beats the best baseline naiveDaily (2)",
    "points": [
        {"time": "2024-03-01T00:00:00Z", "forecast": 1.5, "lower": 1.0, "upper": 2.25},
        {"time": "2024-03-01T01:00:00Z", "forecast": 1.75, "lower": 1.25, "upper": 2.5},
    ],
}


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake, server = serve()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def _run(api: FakeApi, *args: str) -> tuple[int, str]:
    env = {"WATTCAST_API_URL": api.url, "WATTCAST_API_TOKEN": "t0ken"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_forecast_asks_the_rest_api_and_prints_json(api: FakeApi) -> None:
    api.on("GET", "/v1/forecasts/water/meter1", (200, BODY))
    code, output = _run(
        api, "forecast", "meter1", "--type", "water", "--origin", "2024-03-01T00:00:00Z",
        "--hours", "2", "-o", "json",
    )  # fmt: skip
    assert code == 0, output
    assert json.loads(output) == BODY
    request = api.requests[-1]
    assert request.query["origin"] == ["2024-03-01T00:00:00Z"]
    assert request.query["hours"] == ["2.0"]
    assert request.headers["authorization"] == "Bearer t0ken"


def test_forecast_table_shows_points_and_why_the_model_is_current(api: FakeApi) -> None:
    api.on("GET", "/v1/forecasts/electricity/meter1", (200, {**BODY, "meterType": "electricity"}))
    code, output = _run(api, "forecast", "meter1")
    assert code == 0, output
    assert "2024-03-01T01:00:00Z" in output and "1.75" in output and "2.25" in output
    assert "promoted" in output and "90 % interval" in output
    assert "origin" not in api.requests[-1].query  # the API picks the default origin


@pytest.mark.parametrize(
    ("status", "code"), [(404, 3), (422, 3), (503, 4)], ids=["no-model", "invalid", "influx-down"]
)
def test_forecast_errors_become_exit_codes(api: FakeApi, status: int, code: int) -> None:
    api.on("GET", "/v1/forecasts/electricity/m9", (status, {"detail": "why it failed"}))
    exit_code, output = _run(api, "forecast", "m9")
    assert exit_code == code
    assert "why it failed" in output


def test_an_origin_without_time_zone_is_refused_before_any_request(api: FakeApi) -> None:
    exit_code, output = _run(api, "forecast", "m9", "--origin", "2024-03-01T00:00:00")
    assert exit_code == 2
    assert "time zone" in output
    assert api.requests == []
