"""Other spec.model choices train, save and load end to end: the lstm type, a 15-minute
resolution, no temperature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from trainer_support import run_trainer, write_spec

from wattcast.devtools.testbed.influx import InfluxServer, write_meter

START = datetime(2024, 4, 1, tzinfo=UTC)
DAYS = 35


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "freq"),
    [
        ({"type": "lstm", "lookbackHours": 48, "epochs": 2}, "1h"),
        ({"resolution": "15m", "epochs": 2}, "15min"),
        ({"useTemperature": False, "epochs": 2}, "1h"),
    ],
    ids=["lstm", "15m", "no-temperature"],
)
def test_model_options_train_and_save(
    model: dict[str, Any],
    freq: str,
    influxdb: InfluxServer,
    influx_database: str,
    synthetic_meter: Any,
    tmp_path: Path,
) -> None:
    meter = synthetic_meter("regional", start=START, days=DAYS, freq=freq, seed=4)
    write_meter(influxdb.url, influx_database, "electricity", "region-1", meter.observed)
    spec = {
        "meterId": "region-1",
        "meterType": "electricity",
        "start": START.isoformat(),
        "end": (START + timedelta(days=DAYS)).isoformat(),
        "source": {"url": influxdb.url, "dialect": "influxql", "database": influx_database},
        "model": {"holdoutDays": 3, **model},
    }
    models = tmp_path / "models"
    run = run_trainer(
        ["--spec", str(write_spec(tmp_path / "tj.yaml", spec)), "--models-dir", str(models)],
        tmp_path / "term",
    )
    assert run.exit_code == 0, run.output
    assert run.termination is not None
    result = run.termination["result"]
    assert (models / result["modelPath"]).is_file()
    per_day = 96 if freq == "15min" else 24
    assert result["metrics"]["holdout"]["points"] > per_day  # more than a day scored
