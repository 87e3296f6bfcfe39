"""Reads what the dashboard plots from the model store, read-only and inside the store only.

Layout (docs/design.md §6): <models>/<meterType>/<meterId>/versions/<version>/model.keras and
metadata.json; <models>/<meterType>/<meterId>/current -> versions/<version>. A TrainingJob's
status.result.modelPath names the model file relative to the store's root; its metadata.json
sits next to it.

metadata.json follows the model store contract (wattcast.crd.modelstore.ModelMetadata) and
is validated against it: one spelling per key, unknown keys refused. The dashboard shows the
loss per epoch (`history`), the holdout series (`holdoutSeries`), the promotion decision and
interval, and passes meter, dataRange, features, metrics, libraries, trainingJob through. A
file that does not follow the contract is named in `problems`, so the page says why the plots
are missing.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, ValidationError
from pydantic.alias_generators import to_camel

from wattcast.crd.modelstore import ModelMetadata

METADATA_FILE = "metadata.json"
CURRENT_LINK = "current"
VERSIONS_DIR = "versions"
# metadata.json holds at most two weeks of hourly series (docs/design.md §6); far below.
MAX_METADATA_BYTES = 4 * 1024 * 1024
# Versions listed in a model's lineage (the trainer keeps 5 by default).
MAX_LINEAGE_VERSIONS = 20
SERIES_NAMES = ("actual", "forecast", "naiveDaily", "naiveWeekly")


class ModelStoreError(Exception):
    """The model or its metadata cannot be read; `str()` says why, for a person."""


class ModelNotFoundError(ModelStoreError):
    """No metadata.json where the TrainingJob's modelPath points."""


class _CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class LossHistoryPublic(_CamelModel):
    """Training and validation loss after each epoch (Keras' history)."""

    epochs: list[int] = Field(description="Epoch numbers, from 1.")
    loss: list[float | None] = Field(description="Training loss per epoch (null: not finite).")
    val_loss: list[float | None] | None = Field(
        default=None, description="Validation loss per epoch, when the trainer kept one."
    )


class HoldoutSeriesPublic(_CamelModel):
    """The holdout: actual values, the model's forecast and the seasonal-naive baselines."""

    timestamps: list[AwareDatetime] = Field(description="The holdout timestamps (UTC).")
    actual: list[float | None] = Field(description="Measured values (null: missing).")
    forecast: list[float | None] = Field(description="The model's forecast.")
    naive_daily: list[float | None] | None = Field(
        default=None, description="Seasonal-naive baseline y(t-24h)."
    )
    naive_weekly: list[float | None] | None = Field(
        default=None, description="Seasonal-naive baseline y(t-168h)."
    )


class ModelVersionPublic(_CamelModel):
    """One saved version of the same meter's model (its lineage)."""

    version: str = Field(description="Version directory name.")
    model_path: str = Field(description="Its model file, relative to the model store's root.")
    current: bool = Field(description="True for the version `current` points to.")
    training_job: str | None = Field(
        default=None, description="Name of the TrainingJob that made it."
    )
    created: str | None = Field(default=None, description="When it was saved, as recorded.")
    smape: float | None = Field(default=None, description="The model's holdout sMAPE, %.")
    promoted: bool | None = Field(default=None, description="Whether the gate promoted it.")


class ModelReportPublic(_CamelModel):
    """What the dashboard shows of a TrainingJob's saved model."""

    model_path: str = Field(description="The model file, relative to the model store's root.")
    version: str = Field(description="The version directory of this model.")
    current: bool = Field(description="True while this version is the meter's current model.")
    meter: JsonValue = Field(default=None, description="The meter, as metadata.json has it.")
    data_range: JsonValue = Field(default=None, description="The data range trained on.")
    features: JsonValue = Field(default=None, description="The features the model used.")
    metrics: JsonValue = Field(default=None, description="Holdout errors, model and baselines.")
    library_versions: JsonValue = Field(
        default=None, description="Library versions the model was trained with."
    )
    training_job: JsonValue = Field(
        default=None, description="The TrainingJob that made the model (name, uid)."
    )
    loss: LossHistoryPublic | None = Field(
        default=None, description="Loss per epoch; null when metadata.json has none."
    )
    holdout: HoldoutSeriesPublic | None = Field(
        default=None, description="Holdout series; null when metadata.json has none."
    )
    promotion: JsonValue = Field(
        default=None, description="The promotion gate's decision: promoted, reason, figures."
    )
    interval: JsonValue = Field(
        default=None, description="The prediction interval's level and offsets per step."
    )
    versions: list[ModelVersionPublic] = Field(
        description="Saved versions of the same meter's model, newest first (at most 20)."
    )
    problems: list[str] = Field(
        description="Parts of metadata.json that could not be read, for a person."
    )


def _store_path(root: Path, relative: str) -> Path:
    """`root/relative`, refusing anything that could leave the store or follow a link in it.

    The store's own root may be a link (a mounted volume); below it, every part must be what
    it says: a link anywhere on the way (a version directory, the model file, metadata.json)
    could lead to another meter's files, so it is refused.
    """
    # Checked on the raw text: PurePosixPath would quietly normalise "a//b" and "./a".
    parts = relative.split("/")
    if relative.startswith("/") or "\\" in relative or any(p in {"", ".", ".."} for p in parts):
        raise ModelStoreError(f"model path {relative!r} is not a plain path inside the store")
    resolved_root = root.resolve()
    literal = resolved_root.joinpath(*parts)
    path = literal.resolve()
    if not path.is_relative_to(resolved_root):
        raise ModelStoreError(f"model path {relative!r} leads outside the model store")
    if path != literal:
        raise ModelStoreError(f"model path {relative!r} goes through a link in the model store")
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelNotFoundError(f"{path.name} not found") from None
    except OSError as exc:
        raise ModelStoreError(f"cannot read {path.name}: {exc.strerror}") from None
    if size > MAX_METADATA_BYTES:
        raise ModelStoreError(f"{path.name} is {size} bytes, more than {MAX_METADATA_BYTES}")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelStoreError(f"{path.name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ModelStoreError(f"{path.name} does not hold a JSON object")
    return data


def _finite(values: list[float | None]) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _validated(data: dict[str, Any], problems: list[str] | None) -> ModelMetadata | None:
    try:
        return ModelMetadata.from_json_dict(data)
    except ValidationError as exc:
        if problems is not None:
            where = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}"
                for e in exc.errors()[:3]
            )
            more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
            problems.append(
                f"metadata.json does not follow the model store contract: {where}{more}"
            )
        return None


def _loss(metadata: ModelMetadata, problems: list[str]) -> LossHistoryPublic:
    loss = _finite(metadata.history.loss)
    val_loss: list[float | None] | None = _finite(metadata.history.val_loss) or None
    if val_loss is not None and len(val_loss) != len(loss):
        problems.append("history.valLoss and history.loss differ in length; valLoss left out")
        val_loss = None
    return LossHistoryPublic(epochs=list(range(1, len(loss) + 1)), loss=loss, val_loss=val_loss)


def _holdout(metadata: ModelMetadata, problems: list[str]) -> HoldoutSeriesPublic | None:
    series = metadata.holdout_series
    columns = {
        "actual": series.actual,
        "forecast": series.forecast,
        "naive_daily": series.naive_daily,
        "naive_weekly": series.naive_weekly,
    }
    for name, values in columns.items():
        if len(values) != len(series.timestamps):
            problems.append(
                f"holdout series unreadable: {name} has {len(values)} values for "
                f"{len(series.timestamps)} times"
            )
            return None
    return HoldoutSeriesPublic(
        timestamps=series.timestamps, **{k: _finite(v) for k, v in columns.items()}
    )


def _dump(model: BaseModel | None) -> JsonValue:
    if model is None:
        return None
    value: JsonValue = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value


def _lineage(meter_dir: Path, model_file: str) -> tuple[list[ModelVersionPublic], str | None]:
    """Every saved version of the meter (newest first) and the one `current` points to."""
    current: str | None = None
    link = meter_dir / CURRENT_LINK
    if link.is_symlink() or link.is_dir():
        target = Path(os.path.realpath(link))
        if target.parent == (meter_dir / VERSIONS_DIR).resolve():
            current = target.name
    versions_dir = meter_dir / VERSIONS_DIR
    try:
        # Hidden entries are the trainer's staging directories of trainings in progress.
        names = sorted(
            (
                p.name
                for p in versions_dir.iterdir()
                if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
            ),
            reverse=True,
        )
    except OSError:
        names = []
    store_root = meter_dir.parent.parent
    result = []
    for name in names[:MAX_LINEAGE_VERSIONS]:
        try:
            relative = (versions_dir / name / METADATA_FILE).relative_to(store_root)
            meta = _validated(_read_json(_store_path(store_root, relative.as_posix())), None)
        except ModelStoreError:
            meta = None  # a version without readable metadata is still part of the lineage
        path = (versions_dir / name / model_file).relative_to(store_root)
        result.append(
            ModelVersionPublic(
                version=name,
                model_path=path.as_posix(),
                current=name == current,
                training_job=meta.training_job.name if meta else None,
                created=meta.training_completed.isoformat() if meta else None,
                smape=meta.metrics.model.smape if meta else None,
                promoted=meta.promotion.promoted if meta else None,
            )
        )
    return result, current


def read_model_report(models_dir: Path, model_path: str) -> ModelReportPublic:
    """The dashboard's view of the model at `model_path` (relative to `models_dir`).

    Raises ModelNotFoundError when its metadata.json is not there, ModelStoreError when the path
    is unsafe or the file unreadable. Blocking file IO: call it from a worker thread.
    """
    model = _store_path(models_dir, model_path)
    version_dir = model.parent
    metadata_path = PurePosixPath(model_path).parent / METADATA_FILE
    problems: list[str] = []
    metadata = _validated(_read_json(_store_path(models_dir, metadata_path.as_posix())), problems)
    pure = PurePosixPath(model_path)
    lineage: list[ModelVersionPublic] = []
    current: str | None = None
    # <meterType>/<meterId>/versions/<version>/<file>: only then is there a lineage to show.
    if len(pure.parts) == 5 and pure.parts[2] == VERSIONS_DIR:
        lineage, current = _lineage(version_dir.parent.parent, pure.name)
    else:
        problems.append(f"model path {model_path!r} is not in the versioned layout; no lineage")
    return ModelReportPublic(
        model_path=model_path,
        version=version_dir.name,
        current=current == version_dir.name,
        meter=_dump(metadata.meter) if metadata else None,
        data_range=_dump(metadata.data_range) if metadata else None,
        features=_dump(metadata.features) if metadata else None,
        metrics=_dump(metadata.metrics) if metadata else None,
        library_versions=dict(metadata.libraries) if metadata else None,
        training_job=_dump(metadata.training_job) if metadata else None,
        loss=_loss(metadata, problems) if metadata else None,
        holdout=_holdout(metadata, problems) if metadata else None,
        promotion=_dump(metadata.promotion) if metadata else None,
        interval=_dump(metadata.interval) if metadata else None,
        versions=lineage,
        problems=problems,
    )
