"""`wattcast forecast METER_ID --type T [--origin] [--hours] [-o json]`, over real HTTP to a
scripted stand-in of the forecast route (the route itself is tested against the real InfluxDB
in tests/integration/forecasts)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
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


@dataclass
class Recorded:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeApi:
    url: str = ""
    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def on(self, method: str, path: str, response: tuple[int, Any]) -> None:
        self.routes[(method, path)] = response


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            split = urlsplit(self.path)
            fake.requests.append(
                Recorded(
                    split.path,
                    parse_qs(split.query),
                    {k.lower(): v for k, v in self.headers.items()},
                )
            )
            status, body = fake.routes.get(("GET", split.path), (404, {"detail": "no route"}))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
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
