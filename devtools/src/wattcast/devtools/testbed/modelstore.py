"""A metadata.json that follows the model store contract, for tests that need one without
training (the dashboard's and the store's tests); shaped like the trainer's own."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wattcast.crd.modelstore import ModelMetadata

VERSION = "20250301T001000000000Z-abc123"


def _load(i: int, shift: float = 0.0) -> float:
    hour = (i + shift) % 24
    return round(1.2 + 0.8 * math.sin(math.pi * hour / 12) + 0.1 * ((i // 24) % 7), 6)


def sample_metadata(
    *,
    meter_id: str = "m1",
    meter_type: str = "electricity",
    version: str = VERSION,
    job_name: str = "tj-one",
    epochs: int = 3,
    points: int = 3,
    smape: float = 9.5,
    promoted: bool = True,
) -> dict[str, Any]:
    """metadata.json as a JSON object (camelCase), valid against ModelMetadata."""
    start = datetime(2025, 2, 15, tzinfo=UTC)
    times = [start + timedelta(hours=i) for i in range(points)]
    actual: list[float | None] = [_load(i) for i in range(points)]
    if points > 1:
        actual[1 if points < 40 else 40] = None  # a missing reading: the plot shows a gap
    error = {"mae": 1.0, "rmse": 2.0, "smape": smape}
    data: dict[str, Any] = {
        "schemaVersion": 1,
        "version": version,
        "meter": {"id": meter_id, "type": meter_type},
        "dataRange": {
            "start": "2025-01-01T00:00:00Z",
            "end": "2025-03-01T00:00:00Z",
            "first": "2025-01-01T00:00:00Z",
            "resolution": "1h",
            "points": 1416,
        },
        "cleaning": {"rawPoints": 1416, "temperature": False},
        "model": {"type": "seasonal-residual", "horizonHours": 24},
        "features": {
            "stepsPerDay": 24,
            "horizonSteps": 24,
            "lookbackSteps": 168,
            "warmupSteps": 360,
            "historySteps": 3048,
            "timezone": "Europe/Berlin",
            "holidays": "DE",
            "useTemperature": False,
            "withWindow": False,
            "maxGapHours": 6,
            "scale": 1.5,
            "annual": False,
            "names": ["lagDay", "lagWeek", "horizon"],
        },
        "forecaster": {"kind": "keras", "file": "model.keras", "modelType": "seasonal-residual"},
        "nonNegative": True,
        "metrics": {
            "holdout": {
                "start": "2025-02-15T00:00:00Z",
                "end": "2025-03-01T00:00:00Z",
                "points": 336,
            },
            "model": error,
            "baselines": {
                "naiveDaily": {"mae": 1.5, "rmse": 2.5, "smape": 12.0},
                "naiveWeekly": {"mae": 1.4, "rmse": 2.4, "smape": 11.0},
            },
        },
        "interval": {"level": 0.9, "lower": [-0.5] * 24, "upper": [0.6] * 24, "residuals": 336},
        "trainPoints": 700,
        "epochsRun": epochs,
        "history": {
            "loss": [round(1.0 / (1 + 0.6 * e), 5) for e in range(epochs)],
            "valLoss": [round(1.1 / (1 + 0.5 * e), 5) for e in range(epochs)],
        },
        "holdoutSeries": {
            "timestamps": [t.isoformat().replace("+00:00", "Z") for t in times],
            "actual": actual,
            "forecast": [_load(i, 0.3) for i in range(points)],
            "naiveDaily": [_load(i - 24) for i in range(points)],
            "naiveWeekly": [round(0.85 * _load(i - 168, -1.5) + 0.2, 6) for i in range(points)],
        },
        "timings": {"fitSeconds": 3.2},
        "libraries": {"python": "3.11.14", "keras": "3.15.1"},
        "trainingJob": {"name": job_name, "namespace": "default", "uid": "u-1"},
        "trainingCompleted": "2025-03-01T00:10:00Z",
        "promotion": {
            "policy": "gate",
            "promoted": promoted,
            "reason": (
                "promoted: holdout MAE 1 beats the best baseline naiveWeekly (1.4); "
                "no current version"
                if promoted
                else "not promoted: holdout MAE 1 beats the best baseline naiveWeekly (1.4); "
                "is worse than current version x on the same holdout (0.9)"
            ),
            "bestBaseline": "naiveWeekly",
            "bestBaselineMae": 1.4,
        },
    }
    ModelMetadata.from_json_dict(data)  # a helper that drifts fails here
    return data


def write_version(
    store: Path,
    meter_type: str,
    meter_id: str,
    directory: str,
    metadata: dict[str, Any] | str,
    *,
    current: bool = False,
) -> str:
    """Write a version directory (a placeholder model file); returns its modelPath."""
    version_dir = store / meter_type / meter_id / "versions" / directory
    version_dir.mkdir(parents=True, exist_ok=True)
    (version_dir / "model.keras").write_bytes(b"not a real keras file")
    text = metadata if isinstance(metadata, str) else json.dumps(metadata)
    (version_dir / "metadata.json").write_text(text, encoding="utf-8")
    if current:
        link = store / meter_type / meter_id / "current"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(Path("versions") / directory)
    return f"{meter_type}/{meter_id}/versions/{directory}/model.keras"
