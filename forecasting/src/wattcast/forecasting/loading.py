"""Reading a model version from the store: its metadata, checked, and its forecaster, loaded.

The store's layout and metadata.json are the contract in :mod:`wattcast.crd.modelstore`; the
trainer writes versions (wattcast.trainer.store), everyone else reads them through here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from wattcast.crd import MeterType
from wattcast.crd.modelstore import (
    CURRENT,
    METADATA_FILE,
    VERSIONS,
    ModelMetadata,
    is_version,
    meter_dir,
)
from wattcast.forecasting.datasource import check_meter_id
from wattcast.forecasting.errors import ModelMismatchError, NoCurrentModelError
from wattcast.forecasting.forecasters import load_forecaster
from wattcast.forecasting.predicting import Predictor

MAX_METADATA_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ModelVersion:
    """A version of a meter's model, loaded: its directory, metadata and forecaster."""

    directory: Path
    metadata: ModelMetadata
    predictor: Predictor

    @property
    def version(self) -> str:
        return self.metadata.version


def read_metadata(version_dir: Path) -> ModelMetadata:
    """The version's metadata.json, validated against the contract."""
    path = Path(version_dir) / METADATA_FILE
    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            raise ModelMismatchError(f"{path} is larger than {MAX_METADATA_BYTES} bytes")
        return ModelMetadata.from_json_text(path.read_bytes())
    except FileNotFoundError:
        raise ModelMismatchError(f"{path} does not exist: not a model version") from None
    except OSError as error:
        raise ModelMismatchError(f"cannot read {path}: {error.strerror}") from None
    except (ValidationError, json.JSONDecodeError) as error:
        first = str(error).splitlines()[:3]
        raise ModelMismatchError(f"{path} is not valid model metadata: {' '.join(first)}") from None


def open_version(
    version_dir: Path, *, meter_type: MeterType | None = None, meter_id: str | None = None
) -> ModelVersion:
    """Load the version in `version_dir`; with a meter, refuse another meter's model."""
    metadata = read_metadata(version_dir)
    if meter_type is not None and meter_id is not None:
        try:
            metadata.check_meter(meter_type, meter_id)
        except ValueError as error:
            raise ModelMismatchError(str(error)) from None
    forecaster = load_forecaster(Path(version_dir), metadata)
    return ModelVersion(
        directory=Path(version_dir),
        metadata=metadata,
        predictor=Predictor(
            forecaster=forecaster,
            features=metadata.features,
            meter_type=metadata.meter.type,
            resolution=metadata.data_range.resolution,
            interval=metadata.interval,
            non_negative=metadata.non_negative,
        ),
    )


def current_version_dir(models_dir: Path, meter_type: MeterType, meter_id: str) -> Path:
    """The directory `current` points to, inside the store; NoCurrentModelError if none."""
    check_meter_id(meter_id)
    root = Path(models_dir)
    directory = root / meter_dir(meter_type, meter_id)
    link = directory / CURRENT
    target = link.resolve() if link.is_symlink() else None
    versions = (directory / VERSIONS).resolve()
    if target is None or target.parent != versions or not is_version(target.name):
        raise NoCurrentModelError(
            f"meter {MeterType(meter_type).value}/{meter_id} has no current model in the store"
        )
    if not target.is_dir():
        raise NoCurrentModelError(
            f"the current model of {MeterType(meter_type).value}/{meter_id} is missing"
        )
    return target


def open_current(models_dir: Path, meter_type: MeterType, meter_id: str) -> ModelVersion:
    return open_version(
        current_version_dir(models_dir, meter_type, meter_id),
        meter_type=meter_type,
        meter_id=meter_id,
    )


def list_current(models_dir: Path) -> list[tuple[MeterType, str]]:
    """Every meter of the store with a `current` link, sorted."""
    found = []
    for meter_type in MeterType:
        base = Path(models_dir) / meter_type.value
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            if (entry / CURRENT).is_symlink():
                found.append((meter_type, entry.name))
    return found
