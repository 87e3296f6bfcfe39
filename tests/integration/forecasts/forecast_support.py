"""Helpers of the forecast tests: train a real model on the test bed, run wattcast-forecast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from trainer_support import run_trainer, write_spec

from wattcast.crd.modelstore import ModelMetadata
from wattcast.devtools.testbed.influx import InfluxServer, write_meter
from wattcast.devtools.testbed.synthetic import simulate_meter

START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 42
METER_ID = "house-3"


@dataclass(frozen=True)
class TrainedMeter:
    url: str
    database: str
    models: Path
    metadata: ModelMetadata
    observed: pd.DataFrame

    @property
    def version_dir(self) -> Path:
        return self.models / "electricity" / METER_ID / "versions" / self.metadata.version

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "INFLUX_URL": self.url,
            "INFLUX_DIALECT": "influxql",
            "INFLUX_DATABASE": self.database,
        }


def train_meter(influxdb: InfluxServer, directory: Path) -> TrainedMeter:
    database = influxdb.create_database(f"fc_{uuid.uuid4().hex[:12]}")
    meter = simulate_meter(
        "household", start=START, end=START + timedelta(days=DAYS), seed=7, outliers=False
    )
    observed = meter.observed.drop(columns=["temperature"], errors="ignore")
    write_meter(influxdb.url, database, "electricity", METER_ID, observed)
    spec = write_spec(
        directory / "tj.yaml",
        {
            "meterId": METER_ID,
            "meterType": "electricity",
            "start": START.isoformat(),
            "end": (START + timedelta(days=DAYS)).isoformat(),
            "source": {"url": influxdb.url, "dialect": "influxql", "database": database},
            "model": {"holdoutDays": 7, "epochs": 4, "useTemperature": False},
        },
        name="house-3-forecast",
    )
    models = directory / "models"
    run = run_trainer(["--spec", str(spec), "--models-dir", str(models)], directory / "term")
    assert run.exit_code == 0, run.output
    current = models / "electricity" / METER_ID / "current" / "metadata.json"
    metadata = ModelMetadata.from_json_text(current.read_bytes())
    return TrainedMeter(influxdb.url, database, models, metadata, observed)


def forecast_cli(
    meter: TrainedMeter, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`wattcast-forecast` as its own process (so Keras runs on the numpy backend)."""
    command = [str(Path(sys.executable).parent / "wattcast-forecast"), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env or meter.env(), timeout=600, check=False
    )


def forecast_json(meter: TrainedMeter, *args: str) -> Any:
    done = forecast_cli(
        meter,
        "--models-dir",
        str(meter.models),
        "--meter-type",
        "electricity",
        "--meter-id",
        METER_ID,
        "-o",
        "json",
        *args,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
