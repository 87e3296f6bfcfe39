"""`wattcast-fleet-shard` on a real InfluxDB 1.x, outside any cluster: one process trains its
shard's meters with the real trainer path, goes on past a meter without data, records each
outcome, and a second run retrains nothing; `--discover` fixes the meter list once."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fleetkit import DAYS, START, TINY_MODEL, stamp
from typer.testing import CliRunner

from wattcast.crd.fleettrainingjob import DiscoveryReport, MeterOutcome, ShardReport
from wattcast.crd.modelstore import ModelMetadata
from wattcast.devtools.testbed.influx import InfluxServer, write_meter
from wattcast.devtools.testbed.synthetic import generate_meter
from wattcast.forecasting.settings import get_influx_env
from wattcast.trainer.fleet_main import app
from wattcast.trainer.settings import get_settings

UID = "5f0c1c9e-1111-4222-8333-444455556666"


@pytest.fixture
def shard_env(influxdb: InfluxServer, influx_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("INFLUX_URL", influxdb.url)
    monkeypatch.setenv("INFLUX_DIALECT", "influxql")
    monkeypatch.setenv("INFLUX_DATABASE", influx_database)
    monkeypatch.delenv("INFLUX_TOKEN", raising=False)
    monkeypatch.setenv("WATTCAST_MIN_TRAINING_DAYS", "3")
    get_settings.cache_clear()
    get_influx_env.cache_clear()
    for meter in ("good-1", "good-2", "other-9"):
        frame = generate_meter(
            "household", start=START, end=START + timedelta(days=DAYS), seed=len(meter)
        )
        write_meter(influxdb.url, influx_database, "electricity", meter, frame)
    yield influx_database
    get_settings.cache_clear()
    get_influx_env.cache_clear()


def fleet_file(path: Path, meters: dict) -> Path:
    path.write_text(
        json.dumps(
            {
                "name": "shard-test",
                "namespace": "default",
                "uid": UID,
                "spec": {
                    "meters": meters,
                    "meterType": "electricity",
                    "start": stamp(START),
                    "end": stamp(START + timedelta(days=DAYS)),
                    "model": TINY_MODEL,
                    "metersPerPod": 3,
                },
            }
        )
    )
    return path


def run(args: list[str], log: Path) -> tuple[int, bytes]:
    result = CliRunner().invoke(app, [*args, "--termination-log", str(log)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, log.read_bytes()


def test_a_shard_trains_its_meters_once(shard_env: str, tmp_path: Path) -> None:
    models = tmp_path / "models"
    fleet = fleet_file(tmp_path / "fleet.json", {"ids": ["good-1", "ghost", "good-2"]})
    args = ["--fleet", str(fleet), "--index", "0", "--models-dir", str(models), "--workers", "2"]
    code, data = run(args, tmp_path / "log")
    assert code == 0, data
    report = ShardReport.model_validate_json(data)
    assert (report.meters, report.succeeded, report.failed) == (3, 2, 1)
    assert [(f.meter, f.reason) for f in report.failures] == [("ghost", "NoData")]
    versions = {}
    for meter in ("good-1", "good-2"):
        outcome_path = models / "fleets" / UID / "meters" / f"{meter}.json"
        outcome = MeterOutcome.model_validate_json(outcome_path.read_text())
        assert outcome.succeeded and outcome.model_path
        metadata_path = models / Path(outcome.model_path).parent / "metadata.json"
        metadata = ModelMetadata.from_json_text(metadata_path.read_text())
        assert metadata.training_job.uid == UID and metadata.meter.id == meter
        versions[meter] = sorted((models / "electricity" / meter / "versions").iterdir())

    code, data = run(args, tmp_path / "log2")
    assert code == 0
    again = ShardReport.model_validate_json(data)
    assert (again.succeeded, again.failed) == (2, 1) and "finished earlier" in again.message
    for meter, before in versions.items():
        assert sorted((models / "electricity" / meter / "versions").iterdir()) == before


def test_discovery_fixes_the_matching_meters(shard_env: str, tmp_path: Path) -> None:
    models = tmp_path / "models"
    fleet = fleet_file(tmp_path / "fleet.json", {"discover": {"pattern": "^good-"}})
    code, data = run(
        ["--fleet", str(fleet), "--models-dir", str(models), "--discover"], tmp_path / "log"
    )
    assert code == 0, data
    assert DiscoveryReport.model_validate_json(data).meters == 2
    stored = json.loads((models / "fleets" / UID / "meters.json").read_text())
    assert stored == ["good-1", "good-2"]
