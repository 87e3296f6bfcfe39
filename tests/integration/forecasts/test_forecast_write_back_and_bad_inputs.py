"""Against the real InfluxDB 1.6: write-back reads back exactly and is idempotent; each bad
input gets its own error and exit code (`wattcast-forecast`, in this process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from forecast_support import DAYS, METER_ID, START, TrainedMeter
from trainer_support import run_trainer
from typer.testing import CliRunner

from wattcast.crd import MeterType
from wattcast.devtools.testbed.influx import influx_query
from wattcast.forecasting.influx.influxql import InfluxQLSource
from wattcast.forecasting.loading import open_current
from wattcast.forecasting.main import app
from wattcast.forecasting.serving import forecast
from wattcast.forecasting.settings import get_forecast_settings, get_influx_env

# Training the shared model (the module fixture) counts against the first test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _run(meter: TrainedMeter, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("INFLUX_URL", meter.url)
    monkeypatch.setenv("INFLUX_DIALECT", "influxql")
    monkeypatch.setenv("INFLUX_DATABASE", meter.database)
    get_influx_env.cache_clear()
    get_forecast_settings.cache_clear()
    result = CliRunner().invoke(app, list(args))
    get_influx_env.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _origin(meter: TrainedMeter) -> pd.Timestamp:
    return pd.Timestamp(meter.metadata.holdout_series.timestamps[0]) + pd.Timedelta(days=3)


def test_write_back_points_read_back_exactly_and_a_rewrite_is_idempotent(
    trained: TrainedMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin = _origin(trained)
    args = [
        "--models-dir", str(trained.models), "--all", "--origin", origin.isoformat(),
        "--write-back",
    ]  # fmt: skip
    code, output = _run(trained, monkeypatch, *args)
    assert code == 0, output
    assert "wrote 24 points" in output
    version = open_current(trained.models, MeterType.ELECTRICITY, METER_ID)
    source = InfluxQLSource(url=trained.url, database=trained.database, token=None, timeout=30)
    expected = forecast(version, source, origin=origin)

    def read_back() -> pd.DataFrame:
        results = influx_query(
            trained.url,
            'SELECT "forecast", "lower", "upper", "issued", "model_version" FROM '
            '"electricity_forecast" WHERE "meter_id" = \'house-3\'',
            database=trained.database,
            epoch="s",
        )
        series = results[0]["series"][0]
        frame = pd.DataFrame(series["values"], columns=series["columns"])
        times = pd.to_datetime(frame.pop("time"), unit="s", utc=True)
        return frame.set_index(pd.DatetimeIndex(times, name="time"))

    first = read_back()
    assert list(first.index) == list(expected.times)
    assert first["forecast"].tolist() == expected.forecast.tolist()
    assert first["lower"].tolist() == expected.lower.tolist()
    assert first["upper"].tolist() == expected.upper.tolist()
    assert set(first["issued"]) == {origin.isoformat().replace("+00:00", "Z")}
    assert set(first["model_version"]) == {trained.metadata.version}

    code, output = _run(trained, monkeypatch, *args)
    assert code == 0, output
    pd.testing.assert_frame_equal(read_back(), first)


def _bad(meter: TrainedMeter, tmp_path: Path, case: str) -> tuple[list[str], str]:
    base = ["--models-dir", str(meter.models), "--meter-type", "electricity"]
    holdout = _origin(meter).isoformat()
    if case == "unknown meter":
        return [*base, "--meter-id", "nobody"], "has no current model"
    if case == "origin with no data before it":
        return [*base, "--meter-id", METER_ID, "--origin", START.isoformat()], "no data in"
    if case == "data ending before the origin":
        late = (pd.Timestamp(START) + pd.Timedelta(days=DAYS + 2)).isoformat()
        return [*base, "--meter-id", METER_ID, "--origin", late], "forecasts need data up to"
    if case == "hours beyond the limit":
        return [*base, "--meter-id", METER_ID, "--origin", holdout, "--hours", "48"], (
            "at most its horizon, 24 h"
        )
    if case == "an origin off the grid":
        off = (_origin(meter) + pd.Timedelta(minutes=30)).isoformat()
        return [*base, "--meter-id", METER_ID, "--origin", off], "not on the model's grid"
    # A model directory from another meter: meter "other" whose current is house-3's version.
    store = tmp_path / "store"
    shutil.copytree(meter.models, store, symlinks=True)
    (store / "electricity" / METER_ID).rename(store / "electricity" / "other")
    args = ["--models-dir", str(store), "--meter-type", "electricity", "--meter-id", "other"]
    return [*args, "--origin", holdout], "belongs to meter electricity/house-3, not"


@pytest.mark.parametrize(
    "case",
    [
        "unknown meter",
        "origin with no data before it",
        "data ending before the origin",
        "hours beyond the limit",
        "an origin off the grid",
        "a model directory from another meter",
    ],
)
def test_each_bad_input_gets_its_error(
    trained: TrainedMeter, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str
) -> None:
    args, message = _bad(trained, tmp_path, case)
    code, output = _run(trained, monkeypatch, *args)
    assert code == 2, output
    assert message in output


def test_a_retraining_is_compared_with_the_current_version_on_the_same_holdout(
    trained: TrainedMeter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("INFLUX_URL", "INFLUX_DIALECT", "INFLUX_DATABASE"):
        monkeypatch.delenv(key, raising=False)
    store = tmp_path / "store"
    shutil.copytree(trained.models, store, symlinks=True)
    spec = trained.models.parent / "tj.yaml"
    run = run_trainer(["--spec", str(spec), "--models-dir", str(store)], tmp_path / "term")
    assert run.exit_code == 0, run.output
    assert run.termination is not None
    result = run.termination["result"]
    reason = result["promotionReason"]
    # The same data and seed: the same model, so not worse than the current one, and promoted.
    assert f"current version {trained.metadata.version} on the same holdout" in reason
    assert result["promoted"] is True and reason.startswith("promoted: ")
    current = (store / "electricity" / METER_ID / "current").resolve().name
    assert current != trained.metadata.version and current in result["modelPath"]
