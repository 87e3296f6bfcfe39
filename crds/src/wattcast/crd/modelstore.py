"""The model store contract: its layout on disk and the typed `metadata.json` of a version.

    <root>/<meterType>/<meterId>/versions/<version>/model.keras + metadata.json
    <root>/<meterType>/<meterId>/current -> versions/<version>

The trainer writes versions (and moves `current` only when the promotion gate lets it, see
`Promotion`); the API, the dashboard and `wattcast-forecast` read them. Everyone validates
`metadata.json` with `ModelMetadata`: unknown keys are refused and every key has one spelling,
so a renamed key fails where it is read, not silently in a plot.

What a reader needs to forecast with a version, besides the model file, is in `features`
(how to rebuild the model's inputs from the series: the frozen scale, the temperature
standardisation, how much history the forecasting path pulls) and `forecaster` (which kind of
model the file is, so a new kind plugs in without changing callers).

<store>/<meterType>/<meterId>/versions/<version>/<model file>

`status.result.modelPath` is relative to the store's root and is written by a trainer, so it
is only as trustworthy as the trainer pod. Whoever serves a model (the REST API, the
dashboard) accepts a path only inside the TrainingJob's own meter directory, taken from its
spec, which is immutable: `model_path_of` gives the path or None, never one of another meter.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Final, Literal

from pydantic import Field

from wattcast.crd.fieldtypes import ContractModel
from wattcast.crd.trainingjob import (
    METER_ID_PATTERN,
    InfluxDialect,
    MeterType,
    Metrics,
    ModelSpec,
    PromotePolicy,
    Resolution,
    Timestamp,
)

MODEL_FILE: Final = "model.keras"
METADATA_FILE: Final = "metadata.json"
CURRENT: Final = "current"
VERSIONS: Final = "versions"
# UTC time to the microsecond plus a random suffix: sortable and unique.
VERSION_PATTERN: Final = r"^\d{8}T\d{6}\d{6}Z-[0-9a-f]{6}$"
SCHEMA_VERSION: Final = 1
# The forecaster kinds this release knows; a new kind adds its name here and a loader in
# wattcast.forecasting.forecasters.
FORECASTER_KERAS: Final = "keras"

_VERSION = re.compile(VERSION_PATTERN)
_METER_ID = re.compile(METER_ID_PATTERN)

Series = list[float | None]


def is_version(name: str) -> bool:
    return _VERSION.fullmatch(name) is not None


def meter_dir(meter_type: MeterType, meter_id: str) -> PurePosixPath:
    """`<meterType>/<meterId>`, relative to the store's root; refuses an invalid meter id."""
    if _METER_ID.fullmatch(meter_id) is None or meter_id in {".", ".."}:
        raise ValueError(f"{meter_id!r} is not a valid meter id (pattern {METER_ID_PATTERN})")
    return PurePosixPath(MeterType(meter_type).value, meter_id)


def version_dir(meter_type: MeterType, meter_id: str, version: str) -> PurePosixPath:
    """`<meterType>/<meterId>/versions/<version>`, relative to the store's root."""
    if not is_version(version):
        raise ValueError(f"{version!r} is not a model version (pattern {VERSION_PATTERN})")
    return meter_dir(meter_type, meter_id) / VERSIONS / version


def model_path(meter_type: MeterType, meter_id: str, version: str, file: str = MODEL_FILE) -> str:
    """What `status.result.modelPath` says: the model file relative to the store's root."""
    return (version_dir(meter_type, meter_id, version) / file).as_posix()


class MeterRef(ContractModel):
    id: str = Field(pattern=METER_ID_PATTERN, max_length=128, description="The meter id.")
    type: MeterType = Field(description="electricity or water.")


class DataRange(ContractModel):
    start: Timestamp = Field(description="The TrainingJob's start (inclusive).")
    end: Timestamp = Field(description="The TrainingJob's end (exclusive).")
    first: Timestamp | None = Field(default=None, description="First point of the grid.")
    resolution: Resolution = Field(description="The model's resolution.")
    points: int = Field(ge=0, description="Valid points after cleaning.")


class FeatureConfiguration(ContractModel):
    """Everything needed to rebuild the model's inputs exactly as training did."""

    steps_per_day: int = Field(ge=1, le=96, description="Points per day at the resolution.")
    horizon_steps: int = Field(ge=1, description="How far the model forecasts, in steps.")
    lookback_steps: int = Field(ge=1, description="The model's lookback, in steps.")
    warmup_steps: int = Field(ge=1, description="History the features need before a target.")
    history_steps: int = Field(
        ge=1, description="History the forecasting path pulls before the origin, in steps."
    )
    timezone: str = Field(max_length=64, description="Calendar time zone of the features.")
    holidays: str = Field(max_length=16, description="Holiday calendar (DE or none).")
    use_temperature: bool = Field(description="Whether temperature features are inputs.")
    with_window: bool = Field(description="Whether the model takes the lookback window.")
    max_gap_hours: float = Field(ge=0, description="Gaps bridged by interpolation, in hours.")
    max_zero_hours: float | None = Field(
        default=None,
        ge=0,
        description="Runs of exact zeros longer than this are outages (missing data); "
        "None (versions from before the rule) or 0: no such rule.",
    )
    scale: float = Field(gt=0, description="Values are divided by it (training mean |y|).")
    temperature_mean: float | None = Field(default=None, description="Training mean.")
    temperature_std: float | None = Field(default=None, gt=0, description="Training std.")
    annual: bool = Field(description="Whether the time-of-year harmonics are used.")
    names: list[str] = Field(max_length=256, description="Input feature names, in order.")


class ForecasterRef(ContractModel):
    """Which kind of model the version holds, so the forecasting path loads it right."""

    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")] = Field(
        description="keras: a Keras 3 model file (`file`), run on any Keras backend."
    )
    file: str = Field(
        default=MODEL_FILE, pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="The model file."
    )
    model_type: str = Field(max_length=64, description="spec.model.type it was trained as.")


class PredictionInterval(ContractModel):
    """Offsets added to the point forecast, per horizon step (empirical residual quantiles)."""

    level: float = Field(gt=0, lt=1, description="Nominal coverage, e.g. 0.9.")
    lower: list[float] = Field(description="Per step 1..horizon: the lower residual quantile.")
    upper: list[float] = Field(description="Per step 1..horizon: the upper residual quantile.")
    residuals: int = Field(ge=0, description="Holdout residuals they were estimated from.")


class LossHistory(ContractModel):
    loss: Series = Field(description="Training loss per epoch.")
    val_loss: Series = Field(default_factory=list, description="Validation loss per epoch.")


class HoldoutSeries(ContractModel):
    """The last part of the holdout, for plots (its last two weeks, at the model's resolution)."""

    timestamps: list[Timestamp]
    actual: Series
    forecast: Series
    naive_daily: Series
    naive_weekly: Series


class SourceInfo(ContractModel):
    dialect: InfluxDialect
    url: str = Field(max_length=2048)


class TrainingJobRef(ContractModel):
    name: str | None = Field(default=None, max_length=253)
    namespace: str | None = Field(default=None, max_length=63)
    uid: str | None = Field(default=None, max_length=64)


class Promotion(ContractModel):
    """The promotion gate's decision for this version (DESIGN: serving always uses current)."""

    policy: PromotePolicy = Field(description="spec.model.promote of the TrainingJob.")
    promoted: bool = Field(description="Whether this version became current.")
    reason: str = Field(max_length=512, description="Why, for a person.")
    best_baseline: str | None = Field(default=None, description="The best baseline's name.")
    best_baseline_mae: float | None = Field(default=None, description="Its holdout MAE.")
    previous_version: str | None = Field(default=None, description="current before this one.")
    previous_mae: float | None = Field(
        default=None, description="The previous current version's MAE on this holdout."
    )


class ModelMetadata(ContractModel):
    """metadata.json of one model version."""

    schema_version: Literal[1] = Field(description="Layout version of this file.")
    version: str = Field(pattern=VERSION_PATTERN, description="The version directory name.")
    meter: MeterRef
    data_range: DataRange
    cleaning: dict[str, float | int | bool] = Field(description="What preparation did.")
    model: ModelSpec = Field(description="The TrainingJob's effective spec.model.")
    features: FeatureConfiguration
    forecaster: ForecasterRef
    non_negative: bool = Field(
        description="Forecasts are clipped at zero (water, or no negative value in training)."
    )
    metrics: Metrics
    interval: PredictionInterval | None = Field(default=None)
    train_points: int = Field(ge=0)
    epochs_run: int = Field(ge=0)
    history: LossHistory
    holdout_series: HoldoutSeries
    timings: dict[str, float] = Field(description="Seconds per stage.")
    source: SourceInfo | None = None
    libraries: dict[str, str] = Field(description="Library versions it was trained with.")
    training_job: TrainingJobRef
    training_completed: Timestamp
    promotion: Promotion

    def check_meter(self, meter_type: MeterType, meter_id: str) -> None:
        """Raise ValueError unless this version belongs to that meter."""
        if self.meter.type != MeterType(meter_type) or self.meter.id != meter_id:
            raise ValueError(
                f"the model version {self.version} belongs to meter {self.meter.type.value}/"
                f"{self.meter.id}, not {MeterType(meter_type).value}/{meter_id}"
            )

    def to_json_text(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True, indent=1)

    @classmethod
    def from_json_text(cls, text: str | bytes) -> ModelMetadata:
        """Validate metadata.json's text: camelCase keys only (one spelling per key)."""
        return cls.model_validate_json(text, by_alias=True, by_name=False)

    @classmethod
    def from_json_dict(cls, data: Any) -> ModelMetadata:
        """Validate metadata.json's decoded object: camelCase keys only."""
        return cls.model_validate(data, by_alias=True, by_name=False)


def metadata_schema() -> dict[str, Any]:
    """The JSON schema of metadata.json (for docs)."""
    return ModelMetadata.model_json_schema(by_alias=True)


# --- what a TrainingJob's result may point at -------------------------------------------

_UNSAFE_PARTS = frozenset({"", ".", ".."})


def meter_versions_dir(meter_type: MeterType | str, meter_id: str) -> str:
    """`<meterType>/<meterId>/versions`, relative to the store's root."""
    return f"{MeterType(meter_type).value}/{meter_id}/{VERSIONS}"


def is_meter_model_path(model_path: object, meter_type: MeterType | str, meter_id: str) -> bool:
    """Whether `model_path` names a file `<version>/<file>` in the meter's versions directory.

    Checked on the text as written: no absolute path, no backslash, no empty, `.` or `..`
    part, exactly five parts. (Links on disk are the reader's to refuse.)
    """
    if not isinstance(model_path, str) or "\\" in model_path or "\x00" in model_path:
        return False
    if "/" in meter_id or meter_id in _UNSAFE_PARTS:
        return False
    try:
        prefix = meter_versions_dir(meter_type, meter_id).split("/")
    except ValueError:
        return False
    parts = model_path.split("/")
    return (
        len(parts) == len(prefix) + 2
        and parts[: len(prefix)] == prefix
        and not _UNSAFE_PARTS.intersection(parts)
    )


def model_path_of(status: object, spec: object) -> str | None:
    """`status.result.modelPath` of a TrainingJob's JSON, if it lies in its meter's directory.

    `status` and `spec` are the object's JSON parts (dicts as the API server sent them).
    """
    if not isinstance(status, dict) or not isinstance(spec, dict):
        return None
    result = status.get("result")
    if not isinstance(result, dict):
        return None
    path = result.get("modelPath")
    meter_type, meter_id = spec.get("meterType"), spec.get("meterId")
    if not isinstance(meter_type, str) or not isinstance(meter_id, str):
        return None
    return path if is_meter_model_path(path, meter_type, meter_id) else None
