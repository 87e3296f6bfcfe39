"""The contract between the trainer and the dashboard, on a real model: `wattcast-trainer` (its
console script, standalone) trains on a synthetic meter in the test bed's real InfluxDB 1.6, and
the dashboard's reader finds in its metadata.json everything the job page plots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from testkit import tj_body

from wattcast.api.dashboard.store import read_model_report
from wattcast.devtools.testbed.influx import InfluxServer, write_meter

START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 42
EPOCHS = 6


def _trainer_env() -> dict[str, str]:
    """This environment without INFLUX_* / WATTCAST_* settings that could leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFLUX_", "WATTCAST_"))}
    env["WATTCAST_STATUS_INTERVAL_SECONDS"] = "0.2"
    return env


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_trainers_metadata_has_all_the_job_page_plots(
    influxdb: InfluxServer, influx_database: str, synthetic_meter: Any, tmp_path: Path
) -> None:
    meter = synthetic_meter("household", start=START, days=DAYS, seed=5)
    write_meter(influxdb.url, influx_database, "electricity", "dash-home-1", meter.observed)
    spec = tj_body(
        "tj-dash-real",
        meterId="dash-home-1",
        start=START.isoformat(),
        end=(START + timedelta(days=DAYS)).isoformat(),
        source={"url": influxdb.url, "dialect": "influxql", "database": influx_database},
        model={"holdoutDays": 7, "epochs": EPOCHS},
    )
    spec_file = tmp_path / "tj.yaml"
    spec_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    models = tmp_path / "models"
    termination = tmp_path / "termination-log"
    trainer = Path(sys.executable).with_name("wattcast-trainer")
    run = subprocess.run(
        [
            str(trainer),
            "--spec",
            str(spec_file),
            "--models-dir",
            str(models),
            "--termination-log",
            str(termination),
            "--no-progress",
        ],
        env=_trainer_env(),
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(termination.read_bytes())["result"]

    report = read_model_report(models, result["modelPath"])

    assert report.problems == []
    assert report.current is True
    assert report.loss is not None
    assert 1 <= len(report.loss.loss) <= EPOCHS
    assert report.loss.val_loss is not None
    assert len(report.loss.val_loss) == len(report.loss.loss)
    holdout = report.holdout
    assert holdout is not None
    n = len(holdout.timestamps)
    assert 24 <= n <= 336  # a week of hourly holdout, kept small (docs/design.md §6: <= 2 weeks)
    assert len(holdout.actual) == len(holdout.forecast) == n
    assert holdout.naive_daily is not None and len(holdout.naive_daily) == n
    assert holdout.naive_weekly is not None and len(holdout.naive_weekly) == n
    assert sum(v is not None for v in holdout.forecast) > n // 2
    assert isinstance(report.metrics, dict)
    assert report.metrics["model"] == result["metrics"]["model"]
    assert isinstance(report.training_job, dict)
    assert report.training_job["name"] == "tj-dash-real"
    assert isinstance(report.library_versions, dict) and "keras" in report.library_versions
    assert [v.version for v in report.versions] == [report.version]
    assert report.versions[0].training_job == "tj-dash-real"
    assert report.versions[0].created
