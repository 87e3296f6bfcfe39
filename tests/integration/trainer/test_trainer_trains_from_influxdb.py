"""The standalone trainer against the real InfluxDB 1.6.7 of the test bed (InfluxQL path).

Must show (issue 5): it exits 0 and its result names an existing model whose holdout MAE beats
both naive baselines; a hostile meterId or a meter without data exits 2; InfluxDB down is a
retriable exit without a partial model.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from testkit import free_port
from trainer_support import recording_server, run_trainer, write_spec

from wattcast.crd.modelstore import ModelMetadata
from wattcast.devtools.testbed.influx import InfluxServer, write_meter

START = datetime(2024, 1, 1, tzinfo=UTC)


def _spec(url: str, database: str, meter_id: str, days: int, **model: Any) -> dict[str, Any]:
    return {
        "meterId": meter_id,
        "meterType": "electricity",
        "start": START.isoformat().replace("+00:00", "Z"),
        "end": (START + timedelta(days=days)).isoformat().replace("+00:00", "Z"),
        "source": {"url": url, "dialect": "influxql", "database": database},
        "model": {"holdoutDays": 7, "epochs": 15, **model},
    }


@pytest.mark.slow
def test_trains_a_model_that_beats_both_naive_baselines(
    influxdb: InfluxServer, influx_database: str, synthetic_meter: Any, tmp_path: Path
) -> None:
    # Twelve weeks of an office meter: gaps, outliers, a level shift, weather, holidays.
    meter = synthetic_meter("commercial", start=START, days=84, seed=11)
    write_meter(influxdb.url, influx_database, "electricity", "office-7", meter.observed)
    spec = write_spec(tmp_path / "tj.yaml", _spec(influxdb.url, influx_database, "office-7", 84))
    models = tmp_path / "models"
    run = run_trainer(["--spec", str(spec), "--models-dir", str(models)], tmp_path / "term")

    assert run.exit_code == 0, run.output
    assert run.termination is not None
    assert run.termination["phase"] == "Succeeded"
    result = run.termination["result"]
    model_file = models / result["modelPath"]
    assert model_file.is_file()
    assert (models / "electricity" / "office-7" / "current" / "model.keras").is_file()
    metrics = result["metrics"]
    assert metrics["model"]["mae"] < metrics["baselines"]["naiveDaily"]["mae"]
    assert metrics["model"]["mae"] < metrics["baselines"]["naiveWeekly"]["mae"]
    assert metrics["holdout"]["points"] > 100

    import keras

    loaded = keras.models.load_model(model_file)
    assert set(loaded.input_names if hasattr(loaded, "input_names") else []) <= {
        "features",
        "anchors",
    }
    meta = ModelMetadata.from_json_text((model_file.parent / "metadata.json").read_bytes())
    assert meta.meter.id == "office-7" and meta.history.val_loss
    assert meta.holdout_series.timestamps and meta.promotion.promoted
    assert result["promoted"] is True and result["promotionReason"] == meta.promotion.reason


@pytest.mark.parametrize(
    "meter_id", ['m1" OR 1=1', 'x") |> drop()', "../escape"], ids=["influxql", "flux", "path"]
)
def test_a_hostile_meter_id_exits_2_before_any_query(meter_id: str, tmp_path: Path) -> None:
    with recording_server(lambda method, path, body: (200, {}, b"")) as server:
        spec = write_spec(tmp_path / "tj.yaml", _spec(server.url, "db", meter_id, 30))
        run = run_trainer(
            ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
        )
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "InvalidMeterId"
    assert server.requests == []
    assert not (tmp_path / "models").exists()


def test_a_meter_without_data_exits_2(
    influxdb: InfluxServer, influx_database: str, tmp_path: Path
) -> None:
    spec = write_spec(tmp_path / "tj.yaml", _spec(influxdb.url, influx_database, "ghost", 30))
    run = run_trainer(
        ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
    )
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "NoData"


def test_too_little_data_exits_2_with_both_numbers(
    influxdb: InfluxServer, influx_database: str, synthetic_meter: Any, tmp_path: Path
) -> None:
    meter = synthetic_meter("household", start=START, days=10, seed=5)
    write_meter(influxdb.url, influx_database, "electricity", "short-1", meter.observed)
    spec = write_spec(tmp_path / "tj.yaml", _spec(influxdb.url, influx_database, "short-1", 30))
    run = run_trainer(
        ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
    )
    assert run.exit_code == 2
    assert run.termination is not None
    assert run.termination["reason"] == "DataInsufficient"
    message = run.termination["message"]
    assert "have " in message and "need " in message
    numbers = [float(w) for w in message.replace(",", " ").split() if _is_number(w)]
    assert len(numbers) >= 2


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def test_influxdb_down_is_retriable_and_leaves_no_model(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    spec = write_spec(tmp_path / "tj.yaml", _spec(url, "energy", "m1", 30))
    run = run_trainer(
        ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
    )
    assert run.exit_code == 1
    assert run.termination is not None and run.termination["reason"] == "InfluxUnavailable"
    assert not (tmp_path / "models").exists()


def test_an_influxdb_server_error_is_retriable(tmp_path: Path) -> None:
    with recording_server(lambda method, path, body: (503, {}, b"overloaded")) as server:
        spec = write_spec(tmp_path / "tj.yaml", _spec(server.url, "energy", "m1", 30))
        run = run_trainer(
            ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
        )
    assert run.exit_code == 1
    assert run.termination is not None and run.termination["reason"] == "InfluxUnavailable"
    assert len(server.requests) == 1
    assert np.isin(["POST"], [r["method"] for r in server.requests]).all()
