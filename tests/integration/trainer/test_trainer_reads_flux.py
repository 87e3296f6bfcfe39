"""The Flux path (InfluxDB 2.x through influxdb-client).

No InfluxDB 2 can run here, so these tests serve responses built from InfluxDB 2's documented
annotated-CSV format (docs.influxdata.com "Annotated CSV": #datatype/#group/#default
annotation rows, a header, one block per table schema) from a local HTTP server that stands in
for `/api/v2/query`. It reads the bound parameters from the request's `extern` AST, as InfluxDB
does, and answers only for the meter and range they name. `test_live_influxdb2` runs the same
training against a real InfluxDB 2 when WATTCAST_TEST_INFLUX2_URL points to one (with
WATTCAST_TEST_INFLUX2_TOKEN, _ORG and _BUCKET).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from trainer_support import recording_server, run_trainer, write_spec

from wattcast.devtools.testbed.synthetic import generate_meter

START = datetime(2024, 3, 4, tzinfo=UTC)
DAYS = 42


def _extern_params(body: dict[str, Any]) -> dict[str, str]:
    """The `option name = literal` statements influxdb-client puts into `extern`."""
    params = {}
    for statement in body.get("extern", {}).get("body", []):
        assignment = statement["assignment"]
        params[assignment["id"]["name"]] = assignment["init"]["value"]
    return params


def annotated_csv(frame: pd.DataFrame) -> bytes:
    """What `aggregateWindow |> pivot |> keep` returns, in InfluxDB 2's annotated CSV."""
    if frame.empty:
        return b"\r\n"
    columns = ["consumption", "temperature"]
    head = (
        "#datatype,string,long,dateTime:RFC3339,double,double\r\n"
        "#group,false,false,false,false,false\r\n"
        "#default,_result,,,,\r\n"
        ",result,table,_time,consumption,temperature\r\n"
    )
    times = frame.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        f",,0,{t},{c!r},{m!r}"
        for t, c, m in zip(times, *(frame[c].tolist() for c in columns), strict=True)
    ]
    return (head + "\r\n".join(rows) + "\r\n\r\n").encode()


def fake_influxdb2(meters: dict[str, pd.DataFrame]) -> Any:
    def respond(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = urlparse(path)
        if method != "POST" or url.path != "/api/v2/query":
            return 404, {}, b'{"code":"not found"}'
        if parse_qs(url.query).get("org") != ["energy-org"]:
            return 400, {}, b'{"code":"invalid","message":"org required"}'
        request = json.loads(body)
        params = _extern_params(request)
        frame = meters.get(params.get("_meter_id", ""), pd.DataFrame())
        if not frame.empty:
            start = pd.Timestamp(params["_start"])
            stop = pd.Timestamp(params["_stop"])
            frame = frame.loc[(frame.index >= start) & (frame.index < stop)]
            frame = frame.resample("1h").mean().dropna(how="all")
        return 200, {"Content-Type": "text/csv; charset=utf-8"}, annotated_csv(frame)

    return respond


def _spec(url: str, meter_id: str) -> dict[str, Any]:
    return {
        "meterId": meter_id,
        "meterType": "electricity",
        "start": START.isoformat(),
        "end": (START + timedelta(days=DAYS)).isoformat(),
        "source": {"url": url, "dialect": "flux", "org": "energy-org", "bucket": "energy_data"},
        "model": {"holdoutDays": 7, "epochs": 10},
    }


@pytest.mark.slow
def test_flux_training_binds_parameters_and_succeeds(tmp_path: Path) -> None:
    meter = generate_meter(
        "household", start=START, end=START + timedelta(days=DAYS), freq="15min", seed=21
    )
    with recording_server(fake_influxdb2({"flat-3": meter})) as server:
        spec = write_spec(tmp_path / "tj.yaml", _spec(server.url, "flat-3"))
        run = run_trainer(
            ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
        )
    assert run.exit_code == 0, run.output
    assert run.termination is not None and run.termination["phase"] == "Succeeded"
    assert (tmp_path / "models" / run.termination["result"]["modelPath"]).is_file()
    (request,) = server.requests
    sent = json.loads(request["body"])
    assert "flat-3" not in sent["query"] and "energy_data" not in sent["query"]
    assert _extern_params(sent)["_meter_id"] == "flat-3"
    assert "aggregateWindow(every: 1h" in sent["query"]


def test_flux_meter_without_data_exits_2(tmp_path: Path) -> None:
    with recording_server(fake_influxdb2({})) as server:
        spec = write_spec(tmp_path / "tj.yaml", _spec(server.url, "nobody"))
        run = run_trainer(
            ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
        )
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "NoData"


def test_flux_refused_token_is_permanent(tmp_path: Path) -> None:
    with recording_server(
        lambda method, path, body: (401, {}, b'{"code":"unauthorized","message":"bad token"}')
    ) as server:
        spec = write_spec(tmp_path / "tj.yaml", _spec(server.url, "m1"))
        run = run_trainer(
            ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
        )
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "InvalidConfig"


LIVE_URL = os.environ.get("WATTCAST_TEST_INFLUX2_URL")


@pytest.mark.slow
@pytest.mark.skipif(not LIVE_URL, reason="set WATTCAST_TEST_INFLUX2_URL to a real InfluxDB 2")
def test_live_influxdb2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from influxdb_client.client.influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import SYNCHRONOUS

    token = os.environ.get("WATTCAST_TEST_INFLUX2_TOKEN", "")
    org = os.environ.get("WATTCAST_TEST_INFLUX2_ORG", "energy-org")
    bucket = os.environ.get("WATTCAST_TEST_INFLUX2_BUCKET", "energy_data")
    meter_id = f"live-{os.getpid()}"
    frame = generate_meter("commercial", start=START, end=START + timedelta(days=DAYS), seed=3)
    frame = frame.assign(meter_id=meter_id)
    with InfluxDBClient(url=str(LIVE_URL), token=token, org=org) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=bucket,
            record=frame,
            data_frame_measurement_name="electricity_consumption",
            data_frame_tag_columns=["meter_id"],
        )
    monkeypatch.setenv("INFLUX_TOKEN", token)
    spec = _spec(str(LIVE_URL), meter_id)
    spec["source"].update({"org": org, "bucket": bucket})
    path = write_spec(tmp_path / "tj.yaml", spec)
    run = run_trainer(
        ["--spec", str(path), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
    )
    assert run.exit_code == 0, run.output


def test_flux_influxdb_down_is_retriable(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = write_spec(tmp_path / "tj.yaml", _spec(f"http://127.0.0.1:{port}", "m1"))
    run = run_trainer(
        ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
    )
    assert run.exit_code == 1
    assert run.termination is not None and run.termination["reason"] == "InfluxUnavailable"
    assert not (tmp_path / "models").exists()
