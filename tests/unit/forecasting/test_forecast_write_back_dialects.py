"""Write-back in both dialects at the HTTP boundary: the seed's line format, exact floats, the
Flux write API's request as recorded, and how InfluxDB's refusals map to errors (the live
InfluxDB 2 run is tests/integration/forecasts/test_forecasts_on_influxdb2.py)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
from pydantic import SecretStr

from wattcast.crd import MeterType, Resolution
from wattcast.forecasting.datasource import MeterQuery
from wattcast.forecasting.errors import InvalidConfigError, SourceUnavailableError
from wattcast.forecasting.influx.flux import build_last_query
from wattcast.forecasting.serving import Forecast
from wattcast.forecasting.writing import FluxWriter, InfluxQLWriter, line_protocol

ORIGIN = pd.Timestamp("2024-03-01T00:00:00Z")


def _forecast(meter_type: MeterType = MeterType.WATER) -> Forecast:
    times = pd.date_range(ORIGIN, periods=2, freq="1h", name="time")
    return Forecast(
        meter_id="m-1.a",
        meter_type=meter_type,
        model_version="20240101T000000000000Z-abcdef",
        resolution=Resolution.HOUR_1,
        origin=ORIGIN,
        times=times,
        forecast=np.array([0.1 + 0.2, 1 / 3]),
        lower=np.array([0.0, 0.25]),
        upper=np.array([1e-17, 2.5]),
    )


def test_lines_follow_the_seeds_format_with_exact_floats() -> None:
    lines = line_protocol(_forecast())
    assert lines == [
        "water_forecast,meter_id=m-1.a,model_version=20240101T000000000000Z-abcdef "
        'forecast=0.30000000000000004,lower=0.0,upper=1e-17,issued="2024-03-01T00:00:00Z" '
        "1709251200",
        "water_forecast,meter_id=m-1.a,model_version=20240101T000000000000Z-abcdef "
        'forecast=0.3333333333333333,lower=0.25,upper=2.5,issued="2024-03-01T00:00:00Z" '
        "1709254800",
    ]
    assert float("0.30000000000000004") == 0.1 + 0.2


@contextmanager
def _server(status: int, body: bytes = b"") -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            split = urlsplit(self.path)
            seen.append(
                {"path": split.path, "query": parse_qs(split.query), "body": raw.decode(),
                 "headers": dict(self.headers)}
            )  # fmt: skip
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_influxql_write_back_posts_line_protocol_to_write() -> None:
    with _server(204) as (url, seen):
        writer = InfluxQLWriter(url=url, database="energy", token=SecretStr("user:pw"), timeout=5)
        assert writer.write([_forecast()]) == 2
        writer.close()
    (request,) = seen
    assert request["path"] == "/write"
    assert request["query"] == {"db": ["energy"], "precision": ["s"]}
    assert request["body"] == "\n".join(line_protocol(_forecast()))
    assert request["headers"]["Authorization"].startswith("Basic ")


def test_flux_write_back_uses_the_v2_write_api() -> None:
    with _server(204) as (url, seen):
        writer = FluxWriter(
            url=url, org="utility", bucket="energy_data", token=SecretStr("t0k"), timeout=5
        )
        assert writer.write([_forecast(MeterType.ELECTRICITY)]) == 2
        writer.close()
    (request,) = seen
    assert request["path"] == "/api/v2/write"
    assert request["query"]["org"] == ["utility"]
    assert request["query"]["bucket"] == ["energy_data"]
    assert request["query"]["precision"] == ["s"]
    assert request["headers"]["Authorization"] == "Token t0k"
    assert request["body"].splitlines() == line_protocol(_forecast(MeterType.ELECTRICITY))


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, InvalidConfigError), (401, InvalidConfigError), (503, SourceUnavailableError)],
    ids=["bad-request", "unauthorised", "unavailable"],
)
@pytest.mark.parametrize("dialect", ["influxql", "flux"])
def test_refusals_and_outages_map_to_errors(
    status: int, error: type[Exception], dialect: str
) -> None:
    with _server(status, b'{"code":"x","message":"no"}') as (url, _):
        writer = (
            InfluxQLWriter(url=url, database="energy", token=None, timeout=5)
            if dialect == "influxql"
            else FluxWriter(url=url, org="o", bucket="b", token=None, timeout=5)
        )
        with pytest.raises(error):
            writer.write([_forecast()])
        writer.close()


def test_an_unreachable_influxdb_is_retriable() -> None:
    writer = InfluxQLWriter(url="http://127.0.0.1:9", database="energy", token=None, timeout=2)
    with pytest.raises(SourceUnavailableError, match="unreachable"):
        writer.write([_forecast()])


def test_the_last_reading_query_binds_the_meter_and_range() -> None:
    query = MeterQuery(
        meter_id="m-1",
        meter_type=MeterType.ELECTRICITY,
        start=pd.Timestamp("1970-01-01T00:00:00Z").to_pydatetime(),
        end=ORIGIN.to_pydatetime(),
    )
    text, params = build_last_query(query, "energy_data")
    assert "m-1" not in text and "_meter_id" in text and "last()" in text
    assert params["_meter_id"] == "m-1" and params["_bucket"] == "energy_data"
