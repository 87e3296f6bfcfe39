"""The operator's configuration: `WATTCAST_` environment variables, one pydantic-settings model.

Read through the cached getter `get_settings()`, never at import time, so tests can change the
environment and call `get_settings.cache_clear()`.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wattcast.crd import InfluxDialect, ResourceRequirements, constants

DEFAULT_TRAINER_IMAGE = "ghcr.io/wattcast/wattcast-trainer:0.1.0"


class OperatorSettings(BaseSettings):
    """Everything the operator reads from its environment (docs/design.md §8)."""

    model_config = SettingsConfigDict(env_prefix="WATTCAST_", extra="ignore", frozen=True)

    namespaces: str = Field(
        default="",
        description="Comma-separated namespaces to watch; empty watches the whole cluster.",
    )
    trainer_image: str = Field(
        default=DEFAULT_TRAINER_IMAGE,
        min_length=1,
        max_length=512,
        description="Image of the trainer pods (built from Dockerfile.trainer).",
    )
    trainer_image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        default="IfNotPresent", description="imagePullPolicy of the trainer container."
    )
    trainer_image_pull_secrets: str = Field(
        default="",
        max_length=4096,
        description="Comma-separated image pull Secrets of trainer pods (each training "
        "namespace must have them); empty: none.",
    )
    models_claim: str = Field(
        default="wattcast-models",
        min_length=1,
        max_length=253,
        description="PersistentVolumeClaim mounted at /models in every trainer pod.",
    )
    models_single_node: bool = Field(
        default=False,
        description="The models claim is ReadWriteOnce: trainer pods require pod affinity "
        "(by node) to the other pods that mount it, so they all share its node.",
    )
    trainer_resources: ResourceRequirements | None = Field(
        default=None,
        description="Requests and limits of trainer containers whose TrainingJob sets no "
        'spec.resources (JSON, as the spec\'s: {"requests": {"memory": "1Gi"}, ...}).',
    )

    # The default InfluxDB source (the seed's INFLUX_* variables, prefixed).
    influx_url: str | None = Field(default=None, description="URL of the default source.")
    influx_dialect: InfluxDialect = Field(
        default=InfluxDialect.FLUX, description="flux (InfluxDB 2.x) or influxql (/query)."
    )
    influx_org: str | None = Field(default=None, description="Organisation (flux).")
    influx_bucket: str | None = Field(default=None, description="Bucket (flux).")
    influx_database: str | None = Field(default=None, description="Database (influxql).")
    influx_token_secret: str | None = Field(
        default=None, description='"secret-name/key" of the default source\'s token.'
    )
    influx_sources_file: Path | None = Field(
        default=None, description="YAML list of more named sources (wattcast.crd.InfluxSource)."
    )

    default_backoff_limit: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Retries of a trainer pod when spec.backoffLimit is unset.",
    )
    trainingjob_retention_seconds: int = Field(
        default=0, ge=0, description="Delete finished TrainingJobs after this; 0 keeps them."
    )
    metrics_port: int = Field(default=8080, ge=0, le=65535, description="0 disables metrics.")
    health_port: int = Field(default=8081, ge=0, le=65535, description="0 disables /healthz.")
    log_format: Literal["json", "plain"] | None = Field(
        default=None, description="json or plain; unset: plain on a terminal, else json."
    )
    # A watch the API server ends after a while is re-opened; the client timeout a little
    # longer catches a connection a load balancer dropped silently.
    watch_server_timeout: int = Field(
        default=600, ge=1, le=3600, description="Seconds the API server keeps one watch open."
    )
    watch_client_timeout: int = Field(
        default=660, ge=1, le=3660, description="Seconds before a silent watch is re-opened."
    )
    peering: str = Field(default="", description="Kopf peering name; empty runs standalone.")
    fleet_sync_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="How often an unfinished FleetTrainingJob's status is recomputed.",
    )

    @model_validator(mode="after")
    def _claim_fits_a_label(self) -> OperatorSettings:
        if self.models_single_node and len(self.models_claim) > constants.MAX_NAME_LENGTH:
            raise ValueError(
                "models_single_node labels pods with the models claim's name, which must then "
                f"be at most {constants.MAX_NAME_LENGTH} characters"
            )
        return self

    @field_validator("influx_token_secret")
    @classmethod
    def _secret_ref(cls, value: str | None) -> str | None:
        if value is not None and value != "":
            name, sep, key = value.partition("/")
            if not sep or not name or not key or "/" in key:
                raise ValueError('must look like "secret-name/key"')
        return value or None

    @field_validator("influx_url", "influx_org", "influx_bucket", "influx_database")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def trainer_image_pull_secret_list(self) -> list[str]:
        """The trainer pods' image pull Secrets."""
        return [n.strip() for n in self.trainer_image_pull_secrets.split(",") if n.strip()]

    @property
    def namespace_list(self) -> list[str]:
        """The namespaces to watch; empty means cluster-wide."""
        return [ns.strip() for ns in self.namespaces.split(",") if ns.strip()]

    @property
    def namespace_globs(self) -> bool:
        """Whether a watched namespace is a Kopf pattern (`team-*`, `!kube-system`): only then
        must Kopf list and watch namespaces (cluster-wide) to learn which ones match."""
        return any(any(c in ns for c in "*?[!") for ns in self.namespace_list)

    @property
    def effective_log_format(self) -> Literal["json", "plain"]:
        if self.log_format is not None:
            return self.log_format
        return "plain" if sys.stderr.isatty() else "json"


@lru_cache(maxsize=1)
def get_settings() -> OperatorSettings:
    """The settings, read once from the environment (clear the cache to re-read)."""
    return OperatorSettings()
