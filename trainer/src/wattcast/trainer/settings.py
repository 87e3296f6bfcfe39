"""The trainer's settings, from the environment (docs/design.md §3.1, §8).

`WATTCAST_*` (which TrainingJob, where models go, data rules); the seed's `INFLUX_*` variables
(the source the operator resolved for this pod) are the shared
`wattcast.forecasting.settings.get_influx_env`'s. Read through the cached
getters, never at import time, so tests can set the environment and call `cache_clear()`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wattcast.crd import constants
from wattcast.crd.names import DNS_LABEL_MAX_LENGTH


class TrainerSettings(BaseSettings):
    """`WATTCAST_*` settings of the trainer; every default is what a pod gets."""

    model_config = SettingsConfigDict(env_prefix="WATTCAST_", extra="ignore")

    trainingjob_name: str | None = Field(
        default=None,
        max_length=constants.MAX_NAME_LENGTH,
        description="The TrainingJob this pod runs (set by the operator).",
    )
    trainingjob_namespace: str | None = Field(
        default=None,
        max_length=DNS_LABEL_MAX_LENGTH,
        description="Its namespace (set by the operator).",
    )
    models_dir: Path = Field(
        default=Path(constants.MODELS_MOUNT_PATH), description="Root of the model store."
    )
    termination_log: Path = Field(
        default=Path(constants.TERMINATION_LOG_PATH),
        description="Where a pod's result goes (the container's terminationMessagePath); "
        "the local job runner points it at a file of its own.",
    )
    min_training_days: float = Field(
        default=14.0,
        gt=0,
        le=3650,
        description="Least data, in days of valid points after cleaning, a training accepts.",
    )
    max_gap_hours: float = Field(
        default=6.0,
        ge=0,
        le=168,
        description="Gaps up to this long are interpolated; longer ones stay missing "
        "(never used as a training target or scored).",
    )
    max_zero_hours: float = Field(
        default=24.0,
        ge=0,
        le=8760,
        description="A run of exact zeros longer than this many hours is an outage, treated "
        "as missing data (never a training target, never scored); 0 turns the rule off.",
    )
    keep_model_versions: int = Field(
        default=5, ge=1, le=1000, description="Model versions kept per meter (current included)."
    )
    status_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        le=300,
        description="Least time between two status patches (the last one is always sent).",
    )
    api_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="Timeout of one Kubernetes API call: a slow API never stalls training.",
    )
    influx_timeout_seconds: float = Field(
        default=120.0, gt=0, le=3600, description="Timeout of one InfluxDB query."
    )
    timezone: str = Field(
        default="Europe/Berlin",
        max_length=64,
        description="Local time zone of the meters: daily and weekly patterns follow local "
        "clocks, so calendar features (hour, weekday, holidays) use it.",
    )
    holidays: Literal["DE", "none"] = Field(
        default="DE",
        description="Public holiday calendar for the holiday feature (DE: Germany's "
        "nationwide holidays; none: no holiday feature).",
    )
    fleet_file: Path = Field(
        default=Path("/etc/wattcast/fleet/fleet.json"),
        description="A FleetTrainingJob shard's fleet (name, namespace, uid, spec), from the "
        "fleet's ConfigMap (set by the operator).",
    )
    fleet_progress_lease: str = Field(
        default="",
        max_length=253,
        description="The Lease a FleetTrainingJob shard reports its live progress on (set by "
        "the operator); empty: the shard reports only at its end.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


@lru_cache(maxsize=1)
def get_settings() -> TrainerSettings:
    """The trainer's settings (cached; `get_settings.cache_clear()` re-reads)."""
    return TrainerSettings()
