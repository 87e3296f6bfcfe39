"""Against the real InfluxDB 2 (the seed's store) with Flux: the forecasting path end to end.

A model trained from a bucket with the trainer's read-only token forecasts, with that token,
exactly what the trainer forecast for its holdout; `wattcast-forecast --write-back` with a
write-capable token writes the seed's `<meterType>_forecast` points, which Flux reads back
exactly; a rewrite of the same origin replaces them; the read-only token cannot write back,
and says so.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from forecast_support import DAYS, START
from pydantic import SecretStr
from trainer_support import run_trainer, write_spec
from typer.testing import CliRunner

from wattcast.crd import MeterType
from wattcast.crd.modelstore import ModelMetadata
from wattcast.devtools.testbed.influx2 import Influx2Server
from wattcast.devtools.testbed.instance import RunningInflux
from wattcast.devtools.testbed.synthetic import simulate_meter
from wattcast.forecasting.influx.flux import FluxSource
from wattcast.forecasting.loading import open_current
from wattcast.forecasting.main import app
from wattcast.forecasting.serving import forecast
from wattcast.forecasting.settings import get_forecast_settings, get_influx_env

pytestmark = [pytest.mark.slow, pytest.mark.influxdb2, pytest.mark.timeout(900)]

METER_ID = "flat-9"


@dataclass(frozen=True)
class FluxMeter:
    url: str
    org: str
    bucket: str
    read_token: str
    write_token: str
    models: Path
    metadata: ModelMetadata


@pytest.fixture(scope="module")
def flux_meter(
    influx2: RunningInflux, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FluxMeter]:
    """Six weeks of a household meter in a bucket of its own, trained once through Flux."""
    server = influx2.server
    assert isinstance(server, Influx2Server)
    bucket = f"fc_{uuid.uuid4().hex[:12]}"
    bucket_id = server.create_bucket(bucket)
    meter = simulate_meter(
        "household", start=START, end=START + timedelta(days=DAYS), seed=11, outliers=False
    )
    observed = meter.observed.drop(columns=["temperature"], errors="ignore")
    connection = influx2.connection
    assert connection.org is not None
    from wattcast.devtools.testbed.influx import write_meter_v2

    write_meter_v2(
        connection.url, connection.org, bucket, connection.token, "electricity", METER_ID, observed
    )
    directory = tmp_path_factory.mktemp("forecasts-flux")
    spec = write_spec(
        directory / "tj.yaml",
        {
            "meterId": METER_ID,
            "meterType": "electricity",
            "start": START.isoformat(),
            "end": (START + timedelta(days=DAYS)).isoformat(),
            "source": {
                "url": connection.url,
                "dialect": "flux",
                "org": connection.org,
                "bucket": bucket,
            },
            "model": {"holdoutDays": 7, "epochs": 4, "useTemperature": False},
        },
        name="flat-9-forecast",
    )
    read_token = server.create_read_token(bucket_id)
    models = directory / "models"
    with pytest.MonkeyPatch.context() as patch:
        for key in ("INFLUX_URL", "INFLUX_DIALECT", "INFLUX_ORG", "INFLUX_BUCKET"):
            patch.delenv(key, raising=False)
        patch.setenv("INFLUX_TOKEN", read_token)
        run = run_trainer(["--spec", str(spec), "--models-dir", str(models)], directory / "term")
    assert run.exit_code == 0, run.output
    current = models / "electricity" / METER_ID / "current" / "metadata.json"
    yield FluxMeter(
        url=connection.url,
        org=connection.org,
        bucket=bucket,
        read_token=read_token,
        write_token=server.create_write_token(bucket_id),
        models=models,
        metadata=ModelMetadata.from_json_text(current.read_bytes()),
    )
    server.delete_bucket(bucket_id)


def _holdout_origin(meter: FluxMeter) -> pd.Timestamp:
    return pd.Timestamp(meter.metadata.holdout_series.timestamps[0]) + pd.Timedelta(days=2)


def _forecast_cli(
    meter: FluxMeter, monkeypatch: pytest.MonkeyPatch, token: str, *args: str
) -> tuple[int, str]:
    """`wattcast-forecast` in this process, its source from the seed's INFLUX_* variables."""
    for key, value in {
        "INFLUX_URL": meter.url,
        "INFLUX_DIALECT": "flux",
        "INFLUX_ORG": meter.org,
        "INFLUX_BUCKET": meter.bucket,
        "INFLUX_TOKEN": token,
    }.items():
        monkeypatch.setenv(key, value)
    get_influx_env.cache_clear()
    get_forecast_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["--models-dir", str(meter.models), *args])
    finally:
        get_influx_env.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _read_back(server: Influx2Server, meter: FluxMeter) -> pd.DataFrame:
    """The written points as Flux returns them, one row per forecast time."""
    text = server.query_csv(
        f'from(bucket: "{meter.bucket}") |> range(start: 0)'
        ' |> filter(fn: (r) => r._measurement == "electricity_forecast")'
        f' |> filter(fn: (r) => r.meter_id == "{METER_ID}")'
        ' |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
        ' |> keep(columns: ["_time", "model_version", "forecast", "lower", "upper", "issued"])'
    )
    frame = pd.read_csv(io.StringIO(text), comment="#", float_precision="round_trip").drop(
        columns=["Unnamed: 0", "result", "table"], errors="ignore"
    )
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("_time"), utc=True), name="time")
    return frame.sort_index()


def _read_source(meter: FluxMeter) -> FluxSource:
    """The forecasting path's Flux source, with the trainer's read-only token."""
    return FluxSource(
        url=meter.url,
        org=meter.org,
        bucket=meter.bucket,
        token=SecretStr(meter.read_token),
        timeout=30,
    )


def test_a_flux_forecast_equals_the_trainers_holdout_forecast(flux_meter: FluxMeter) -> None:
    origin = _holdout_origin(flux_meter)
    version = open_current(flux_meter.models, MeterType.ELECTRICITY, METER_ID)
    source = _read_source(flux_meter)
    try:
        result = forecast(version, source, origin=origin)
    finally:
        source.close()
    holdout = flux_meter.metadata.holdout_series
    expected = dict(zip(pd.DatetimeIndex(holdout.timestamps), holdout.forecast, strict=True))
    assert len(result.times) == 24 and result.times[0] == origin
    for time, value in zip(result.times, result.forecast, strict=True):
        assert value == pytest.approx(expected[time], abs=1e-6), time


def test_write_back_through_flux_reads_back_exactly_and_a_rewrite_is_idempotent(
    flux_meter: FluxMeter, influx2: RunningInflux, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = influx2.server
    assert isinstance(server, Influx2Server)
    origin = _holdout_origin(flux_meter) + pd.Timedelta(days=1)
    args = ["--all", "--origin", origin.isoformat(), "--write-back"]
    code, output = _forecast_cli(flux_meter, monkeypatch, flux_meter.write_token, *args)
    assert code == 0, output
    assert "wrote 24 points" in output

    version = open_current(flux_meter.models, MeterType.ELECTRICITY, METER_ID)
    source = _read_source(flux_meter)
    try:
        expected = forecast(version, source, origin=origin)
    finally:
        source.close()
    first = _read_back(server, flux_meter)
    assert list(first.index) == list(expected.times)
    # Float64 fields travel as decimal text both ways: read back bit for bit.
    assert first["forecast"].tolist() == expected.forecast.tolist()
    assert first["lower"].tolist() == expected.lower.tolist()
    assert first["upper"].tolist() == expected.upper.tolist()
    assert set(first["issued"]) == {origin.isoformat().replace("+00:00", "Z")}
    assert set(first["model_version"]) == {flux_meter.metadata.version}

    code, output = _forecast_cli(flux_meter, monkeypatch, flux_meter.write_token, *args)
    assert code == 0, output
    pd.testing.assert_frame_equal(_read_back(server, flux_meter), first)


def test_the_read_only_token_cannot_write_back_and_says_so(
    flux_meter: FluxMeter, influx2: RunningInflux, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = influx2.server
    assert isinstance(server, Influx2Server)
    before = _read_back(server, flux_meter)
    origin = _holdout_origin(flux_meter) + pd.Timedelta(days=3)
    args = ["--all", "--origin", origin.isoformat(), "--write-back"]
    code, output = _forecast_cli(flux_meter, monkeypatch, flux_meter.read_token, *args)
    assert code == 2, output
    assert "error:" in output
    assert "permission" in output.lower() or "unauthorized" in output.lower(), output
    assert flux_meter.read_token not in output
    pd.testing.assert_frame_equal(_read_back(server, flux_meter), before)
