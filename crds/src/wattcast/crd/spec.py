"""What a TrainingJob asks for: its spec, its source, its model and its resources, with
the CEL rules the CRD checks (docs/design.md §2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from wattcast.crd import constants
from wattcast.crd.choices import InfluxDialect, MeterType, ModelType, PromotePolicy, Resolution
from wattcast.crd.fieldtypes import (
    INFLUX_NAME_PATTERN,
    MAX_RANGE,
    MAX_RANGE_CEL_DURATION,
    METER_ID_PATTERN,
    WHOLE,
    ContractModel,
    Quantity,
    Timestamp,
    WholeInt,
)
from wattcast.crd.names import DNS_LABEL_MAX_LENGTH, DNS_LABEL_PATTERN
from wattcast.crd.quantities import quantity_value


class SecretKeyRef(ContractModel):
    """A key of a Secret in the operator's namespace (never named by a TrainingJob)."""

    name: str = Field(
        description="Name of the Secret.", min_length=1, max_length=253, pattern=DNS_LABEL_PATTERN
    )
    key: str = Field(
        description="Key in the Secret whose value is the token.",
        min_length=1,
        max_length=253,
        pattern=r"^[-._a-zA-Z0-9]+$",
    )


class SourceRef(ContractModel):
    """Which administrator-configured InfluxDB source to read, with narrow overrides.

    A TrainingJob can never name a URL or a Secret: that would let anyone allowed to create
    TrainingJobs send a stored token to a host of their choice.
    """

    name: str | None = Field(
        default=None,
        description="Name of a source configured for the operator; the default source if unset.",
        max_length=DNS_LABEL_MAX_LENGTH,
        pattern=DNS_LABEL_PATTERN,
    )
    bucket: str | None = Field(
        default=None,
        description="Override of the source's bucket (Flux sources).",
        max_length=64,
        pattern=INFLUX_NAME_PATTERN,
    )
    database: str | None = Field(
        default=None,
        description="Override of the source's database (InfluxQL sources).",
        max_length=64,
        pattern=INFLUX_NAME_PATTERN,
    )


class InfluxSource(ContractModel):
    """A complete InfluxDB source: what an administrator configures for the operator.

    The standalone trainer also accepts one in `spec.source` of a local YAML file.
    """

    name: str = Field(
        default=constants.DEFAULT_SOURCE_NAME,
        description="Name TrainingJobs use to pick this source.",
        max_length=DNS_LABEL_MAX_LENGTH,
        pattern=DNS_LABEL_PATTERN,
    )
    url: str = Field(
        description="Base URL of the InfluxDB HTTP API.",
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
    )
    dialect: InfluxDialect = Field(
        default=InfluxDialect.FLUX, description="Query language the server speaks."
    )
    org: str | None = Field(
        default=None, description="Organisation (Flux sources).", max_length=256
    )
    bucket: str | None = Field(
        default=None,
        description="Bucket (Flux sources).",
        max_length=64,
        pattern=INFLUX_NAME_PATTERN,
    )
    database: str | None = Field(
        default=None,
        description="Database (InfluxQL sources).",
        max_length=64,
        pattern=INFLUX_NAME_PATTERN,
    )
    token_secret: SecretKeyRef | None = Field(
        default=None,
        description=(
            "Secret key holding the token (InfluxDB 1.x: `user:password`); none for an open server."
        ),
    )


class ModelSpec(ContractModel):
    """How to build the forecasting model. Every field has a documented default."""

    type: ModelType = Field(
        default=ModelType.SEASONAL_RESIDUAL,
        description=(
            "seasonal-residual (default): starts from the daily and weekly seasonal-naive "
            "forecasts and learns a correction from lags, calendar and temperature. "
            "lstm: a recurrent network over the lookback window."
        ),
    )
    resolution: Resolution = Field(
        default=Resolution.HOUR_1,
        description="Frequency the data is aggregated to on the InfluxDB server.",
    )
    lookback_hours: WholeInt = Field(
        default=168, ge=24, le=2016, description="History the model sees, in hours."
    )
    horizon_hours: WholeInt = Field(
        default=24, ge=1, le=168, description="How far ahead the model forecasts, in hours."
    )
    epochs: WholeInt = Field(default=20, ge=1, le=500, description="Maximum training epochs.")
    batch_size: WholeInt = Field(default=128, ge=8, le=4096, description="Training batch size.")
    learning_rate: StrictFloat = Field(default=0.001, gt=0, le=1, description="Adam learning rate.")
    holdout_days: WholeInt = Field(
        default=14,
        ge=1,
        le=90,
        description="Days at the end of the range kept out of training to measure error.",
    )
    use_temperature: StrictBool = Field(
        default=True, description="Use the `temperature` field as a feature when present."
    )
    seed: WholeInt = Field(default=0, ge=0, le=2_147_483_647, description="Random seed.")
    promote: PromotePolicy = Field(
        default=PromotePolicy.GATE,
        description=(
            "gate (default): the new version becomes the meter's current model only if it "
            "beats the best seasonal-naive baseline on its holdout and is not worse than the "
            "current version on the same holdout. always: it becomes current regardless."
        ),
    )


class ResourceList(ContractModel):
    """Compute resources of the trainer container."""

    cpu: Quantity | None = Field(default=None, description="CPU, such as 500m or 2.")
    memory: Quantity | None = Field(default=None, description="Memory, such as 2Gi.")


_RESOURCE_NAMES = ("cpu", "memory")


def _request_at_most_limit_rule(resource: str) -> JsonValue:
    """Pod validation's rule, checked when the TrainingJob is created instead of when the Job
    is refused: a request may not exceed its limit."""
    present = (
        f"has(self.requests) && has(self.limits) && "
        f"has(self.requests.{resource}) && has(self.limits.{resource})"
    )
    compare = f"quantity(self.requests.{resource}).compareTo(quantity(self.limits.{resource}))"
    return {
        "rule": f"!({present}) || {compare} <= 0",
        "message": f"requests.{resource} must be at most limits.{resource}",
        "reason": "FieldValueInvalid",
    }


class ResourceRequirements(ContractModel):
    """Requests and limits of the trainer container (the Kubernetes meaning); each request at
    most its limit."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [_request_at_most_limit_rule(r) for r in _RESOURCE_NAMES]
        }
    )

    requests: ResourceList | None = Field(default=None, description="Minimum reserved.")
    limits: ResourceList | None = Field(default=None, description="Maximum allowed.")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ResourceRequirements:
        if self.requests is None or self.limits is None:
            return self
        for resource in _RESOURCE_NAMES:
            request, limit = getattr(self.requests, resource), getattr(self.limits, resource)
            both = request is not None and limit is not None
            if both and quantity_value(request) > quantity_value(limit):
                raise PydanticCustomError(
                    "request_over_limit",
                    "requests.{resource} must be at most limits.{resource}",
                    {"resource": resource},
                )
        return self


# The data range's CEL rules, shared by every spec with start and end (TrainingJob and
# FleetTrainingJob).
RANGE_RULES: list[JsonValue] = [
    {
        "rule": "timestamp(self.end) > timestamp(self.start)",
        "message": "end must be after start",
        "reason": "FieldValueInvalid",
    },
    {
        "rule": (
            f"timestamp(self.end) - timestamp(self.start) <= duration('{MAX_RANGE_CEL_DURATION}')"
        ),
        "message": "the range from start to end must be at most 10 years",
        "reason": "FieldValueInvalid",
    },
]

_SPEC_RULES: list[JsonValue] = [
    *RANGE_RULES,
    {
        "rule": "!has(self.priorityClass) || has(self.queueName)",
        "message": "priorityClass needs queueName",
        "reason": "FieldValueInvalid",
    },
]


class TrainingJobSpec(ContractModel):
    """What to train: one meter's data range, where it lives, and how to fit the model.

    Immutable after creation except `suspend`.
    """

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": _SPEC_RULES})

    meter_id: str = Field(
        description="Meter identifier, the InfluxDB tag `meter_id`.",
        min_length=1,
        max_length=128,
        pattern=METER_ID_PATTERN,
    )
    meter_type: MeterType = Field(
        description="electricity or water: reads the measurement `<meterType>_consumption`."
    )
    start: Timestamp = Field(description="Start of the data range (RFC 3339, inclusive).")
    end: Timestamp = Field(description="End of the data range (RFC 3339, exclusive).")
    source: SourceRef | None = Field(
        default=None,
        description="Which configured InfluxDB source to read; the default source if unset.",
    )
    model: ModelSpec | None = Field(
        default=None, description="Model settings; defaults apply when unset."
    )
    resources: ResourceRequirements | None = Field(
        default=None, description="Compute resources of the trainer container."
    )
    backoff_limit: Annotated[int, Field(ge=0, le=20), WHOLE] | None = Field(
        default=None,
        description="Retries of a failed trainer pod before the TrainingJob fails (default 3).",
    )
    active_deadline_seconds: Annotated[int, Field(ge=1, le=604_800), WHOLE] | None = Field(
        default=None,
        description="Seconds the whole run may take, retries included, before it fails.",
    )
    ttl_seconds_after_finished: Annotated[int, Field(ge=0, le=31_536_000), WHOLE] | None = Field(
        default=None,
        description="Seconds after finishing before the Job and its pods are removed.",
    )
    queue_name: str | None = Field(
        default=None,
        description="Kueue LocalQueue; the Job is created suspended until Kueue admits it.",
        max_length=DNS_LABEL_MAX_LENGTH,
        pattern=DNS_LABEL_PATTERN,
    )
    priority_class: str | None = Field(
        default=None,
        description="Kueue WorkloadPriorityClass (with queueName).",
        max_length=DNS_LABEL_MAX_LENGTH,
        pattern=DNS_LABEL_PATTERN,
    )
    suspend: StrictBool = Field(
        default=False,
        description="true stops the run (pods go, the record and the Job stay); false resumes.",
    )

    @field_validator("end")
    @classmethod
    def _range_is_sane(cls, end: datetime, info: ValidationInfo) -> datetime:
        """The CRD's CEL rules, checked in Python too: the standalone trainer's YAML and the
        API's requests meet them before any API server does. A validation context
        `{"field_names": {"start": ..., "end": ...}}` names the fields as the caller's input
        does (the seed's REST API says start_date and end_date)."""
        start = info.data.get("start")
        if start is None:
            return end
        names = (info.context or {}).get("field_names", {})
        start_name, end_name = names.get("start", "start"), names.get("end", "end")
        if end <= start:
            raise PydanticCustomError(
                "range_empty",
                "must be after {start} (the range [{start}, {end}) is empty)",
                {"start": start_name, "end": end_name},
            )
        if end - start > MAX_RANGE:
            raise PydanticCustomError(
                "range_too_long",
                "the range from {start} to {end} must be at most 10 years",
                {"start": start_name, "end": end_name},
            )
        return end

    @model_validator(mode="after")
    def _priority_needs_queue(self) -> TrainingJobSpec:
        """The CRD's rule on priorityClass, in Python too."""
        if self.priority_class is not None and self.queue_name is None:
            raise PydanticCustomError("priority_without_queue", "priorityClass needs queueName")
        return self

    @property
    def effective_model(self) -> ModelSpec:
        return self.model or ModelSpec()
