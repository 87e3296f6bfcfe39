"""The TrainingJob contract: spec and status as pydantic models (docs/design.md §2).

These models are the one source of truth. `wattcast-crds` (wattcast.crd.generate) turns them
into crds/trainingjob.yaml; the API uses the spec model as its request body; the operator and
the trainer validate with them. Every field carries a description (it becomes `kubectl
explain`) and its bounds (every string a maxLength, every list a maxItems), so a real API
server's CEL cost budget holds.

JSON and YAML are camelCase, Python is snake_case: pydantic aliases join the two. Construct
models with the Python names or the JSON names alike (`populate_by_name`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from wattcast.crd import constants
from wattcast.crd.names import DNS_LABEL_MAX_LENGTH, DNS_LABEL_PATTERN
from wattcast.crd.quantities import QUANTITY_MAX_LENGTH, QUANTITY_PATTERN, quantity_value

METER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
# Bucket and database names reach InfluxDB queries; only this conservative alphabet is allowed.
INFLUX_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# metav1.Condition's reason and a CamelCase type.
CAMEL_CASE_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
# What the CRD's `format: date-time` and CEL's timestamp() both accept: RFC 3339 with an offset.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def _rfc3339_only(value: Any) -> Any:
    """A string in RFC 3339, as the CRD takes it (or a datetime, from Python callers).

    pydantic alone would also take numbers and numeric strings (Unix times), dates and spaces
    for the `T`, which the CRD refuses."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise PydanticCustomError(
        "rfc3339",
        "must be an RFC 3339 datetime with a time zone, such as 2023-01-01T00:00:00Z",
    )


def _in_utc(value: datetime) -> datetime:
    """The instant in UTC: every component then compares and subtracts times of one zone
    (a start in `Z` and an end in `+01:00` once crashed pandas)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first instant CEL knows
        raise PydanticCustomError(
            "timestamp_out_of_range", "must be between 0001-01-01T00:00:00Z and 9999-12-31"
        ) from None


def _whole_number(value: Any) -> Any:
    """An integer as the API server reads JSON: an int, or a number with no fraction (10.0);
    never a bool or a string, which the CRD refuses."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError("int_from_float", "must be a whole number")
        return int(value)
    return value


# An integer field of the spec, as strict as the CRD and no stricter.
WHOLE = BeforeValidator(_whole_number)
WholeInt = Annotated[int, WHOLE]  # optional ones: Annotated[int, Field(bounds), WHOLE] | None

# RFC 3339 with an offset, normalised to UTC; bounded so that the CEL cost estimator can size it.
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339_only),
    AfterValidator(_in_utc),
    Field(json_schema_extra={"maxLength": 64}),
]
Quantity = Annotated[
    str,
    Field(
        max_length=QUANTITY_MAX_LENGTH,
        pattern=QUANTITY_PATTERN,
        description="A Kubernetes quantity, not negative, such as 500m, 2 or 4Gi.",
    ),
]

# The longest range one TrainingJob may ask for: 10 years of 365.25 days. The CRD's CEL rule
# and the models' own check below both derive from this one value.
MAX_RANGE = timedelta(days=3652.5)
MAX_RANGE_CEL_DURATION = f"{int(MAX_RANGE.total_seconds()) // 3600}h"


class _Model(BaseModel):
    """Base of every contract model: camelCase aliases, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=False,
        ser_json_timedelta="iso8601",
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The object as the Kubernetes API stores it: camelCase, no unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class MeterType(StrEnum):
    """What the meter measures; selects the InfluxDB measurement `<meterType>_consumption`."""

    ELECTRICITY = "electricity"
    WATER = "water"

    @property
    def measurement(self) -> str:
        return f"{self.value}{constants.MEASUREMENT_SUFFIX}"


class InfluxDialect(StrEnum):
    """How a source is queried: Flux (InfluxDB 2.x) or InfluxQL (`/query`: 1.x, 2.x v1, 3.x)."""

    FLUX = "flux"
    INFLUXQL = "influxql"


class Phase(StrEnum):
    """Where a TrainingJob is in its life (docs/design.md §2)."""

    PENDING = "Pending"
    QUEUED = "Queued"
    SUSPENDED = "Suspended"
    PROCESSING_DATA = "ProcessingData"
    TRAINING = "Training"
    SAVING = "Saving"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_PHASES


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED})
# Phases the trainer writes while its pod runs; the operator keeps them untouched.
TRAINER_PHASES = frozenset({Phase.PROCESSING_DATA, Phase.TRAINING, Phase.SAVING})


class ModelType(StrEnum):
    """Which forecasting model the trainer fits."""

    SEASONAL_RESIDUAL = "seasonal-residual"
    LSTM = "lstm"


class PromotePolicy(StrEnum):
    """When a newly trained version becomes the meter's `current` model."""

    GATE = "gate"
    ALWAYS = "always"


class Resolution(StrEnum):
    """The fixed frequency the series is aggregated to on the InfluxDB server."""

    MIN_15 = "15m"
    MIN_30 = "30m"
    HOUR_1 = "1h"

    @property
    def minutes(self) -> int:
        return {"15m": 15, "30m": 30, "1h": 60}[self.value]


class SecretKeyRef(_Model):
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


class SourceRef(_Model):
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


class InfluxSource(_Model):
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


class ModelSpec(_Model):
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


class ResourceList(_Model):
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


class ResourceRequirements(_Model):
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


_SPEC_RULES: list[JsonValue] = [
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
    {
        "rule": "!has(self.priorityClass) || has(self.queueName)",
        "message": "priorityClass needs queueName",
        "reason": "FieldValueInvalid",
    },
]


class TrainingJobSpec(_Model):
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


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(_Model):
    """A standard Kubernetes condition; the list is keyed by `type`."""

    type: str = Field(
        description="Condition type, CamelCase (JobCreated, Queued, Suspended, Running, "
        "Blocked, Complete, Failed).",
        max_length=64,
        pattern=CAMEL_CASE_PATTERN,
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        description="Machine-readable CamelCase reason.",
        min_length=1,
        max_length=128,
        pattern=CAMEL_CASE_PATTERN,
    )
    message: str = Field(default="", description="What happened, for a person.", max_length=4096)
    last_transition_time: Timestamp = Field(description="When status last changed.")
    observed_generation: StrictInt | None = Field(
        default=None, ge=0, description="The generation this condition was set for."
    )


class ErrorMetrics(_Model):
    """Forecast error on the holdout, the same measures for the model and every baseline."""

    mae: StrictFloat = Field(ge=0, description="Mean absolute error.")
    rmse: StrictFloat = Field(ge=0, description="Root mean squared error.")
    smape: StrictFloat = Field(
        ge=0, le=200, description="Symmetric mean absolute percentage error, %."
    )


class Holdout(_Model):
    """The data kept out of training on which the errors were measured."""

    start: Timestamp = Field(description="First holdout timestamp.")
    end: Timestamp = Field(description="End of the holdout (exclusive).")
    points: StrictInt = Field(ge=0, description="Number of holdout points scored.")


class Metrics(_Model):
    """Holdout errors of the model next to seasonal-naive baselines (docs/design.md §2)."""

    holdout: Holdout = Field(description="Where the errors were measured.")
    model: ErrorMetrics = Field(description="Error of the trained model.")
    baselines: dict[
        Annotated[str, Field(max_length=32, pattern=r"^[A-Za-z][A-Za-z0-9]*$")], ErrorMetrics
    ] = Field(
        description="Errors of the baselines: naiveDaily predicts y(t-24h), naiveWeekly "
        "y(t-168h), on the same holdout timestamps.",
        json_schema_extra={"maxProperties": 8},
    )


class TrainingResult(_Model):
    """What a successful run produced."""

    model_path: str = Field(
        description="The saved model file, relative to the model store's root.",
        max_length=512,
        pattern=r"^[A-Za-z0-9_.:/-]+$",
    )
    data_points: StrictInt = Field(ge=0, description="Points used after cleaning.")
    training_completed: Timestamp = Field(description="When training finished.")
    metrics: Metrics | None = Field(default=None, description="Holdout errors.")
    promoted: bool | None = Field(
        default=None, description="Whether the new version became the meter's current model."
    )
    promotion_reason: str | None = Field(
        default=None, max_length=512, description="Why it was promoted or not, for a person."
    )


class TrainingProgress(_Model):
    """Live training figures the trainer reports per epoch."""

    epoch: StrictInt = Field(ge=0, le=500, description="Epochs finished.")
    epochs: WholeInt = Field(ge=1, le=500, description="Epochs planned.")
    loss: StrictFloat | None = Field(default=None, description="Training loss of the last epoch.")
    val_loss: StrictFloat | None = Field(
        default=None, description="Validation loss of the last epoch."
    )
    eta_seconds: StrictInt | None = Field(
        default=None, ge=0, description="Estimated seconds until training ends."
    )


# "A finished phase stays finished" (docs/design.md §2), as transition rules on the object root:
# on `status` itself they would not run when a write removes the whole status (a rule runs
# only where both the old and the new object have the field), which once let a Succeeded
# TrainingJob be emptied back to "Pending" for good. `oldSelf.status.phase` is read only
# behind has() guards, so objects that never had a status pass.
_FINISHED = ", ".join(f"'{phase.value}'" for phase in sorted(TERMINAL_PHASES))
_WAS_FINISHED = (
    f"has(oldSelf.status) && has(oldSelf.status.phase) && oldSelf.status.phase in [{_FINISHED}]"
)
FINISHED_STATUS_RULES: list[JsonValue] = [
    {
        "rule": (
            f"!({_WAS_FINISHED}) || (has(self.status) && has(self.status.phase) && "
            "self.status.phase == oldSelf.status.phase)"
        ),
        "message": (
            "a finished TrainingJob's phase cannot change, and its status cannot be removed"
        ),
        "fieldPath": ".status",
        "reason": "FieldValueForbidden",
    },
    {
        "rule": (
            f"!({_WAS_FINISHED}) || !has(oldSelf.status.result) || (has(self.status) && "
            "has(self.status.result) && self.status.result == oldSelf.status.result)"
        ),
        "message": "a finished TrainingJob's result cannot change",
        "fieldPath": ".status",
        "reason": "FieldValueForbidden",
    },
]


class TrainingJobStatus(_Model):
    """Observed state, written through the status subresource only.

    The operator writes Pending, Queued, Suspended, jobName, attempts, conditions and the
    terminal phases; the trainer writes ProcessingData, Training, Saving, progress, message,
    training and result.
    """

    phase: Phase | None = Field(default=None, description="Where the TrainingJob is.")
    progress: StrictInt | None = Field(
        default=None, ge=0, le=100, description="Percent done; never decreases within an attempt."
    )
    message: str | None = Field(
        default=None, description="The latest word, for a person.", max_length=4096
    )
    job_name: str | None = Field(
        default=None,
        description="The Job that runs the trainer.",
        max_length=constants.MAX_NAME_LENGTH,
    )
    start_time: Timestamp | None = Field(default=None, description="When the Job started.")
    completion_time: Timestamp | None = Field(default=None, description="When it finished.")
    observed_generation: StrictInt | None = Field(
        default=None, ge=0, description="The spec generation the operator acted on."
    )
    attempts: StrictInt | None = Field(
        default=None, ge=0, le=1000, description="Trainer pods run so far (retries visible)."
    )
    training: TrainingProgress | None = Field(default=None, description="Live training figures.")
    result: TrainingResult | None = Field(default=None, description="The outcome of a success.")
    conditions: list[Condition] | None = Field(
        default=None,
        max_length=16,
        description="Standard conditions, keyed by type.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )


class ObjectMeta(_Model):
    """The parts of Kubernetes metadata the contract uses."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(default=None, max_length=constants.MAX_NAME_LENGTH)
    namespace: str | None = Field(default=None, max_length=DNS_LABEL_MAX_LENGTH)
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    creation_timestamp: datetime | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class TrainingJob(_Model):
    """A whole TrainingJob object, as read from the API (metadata kept as the server sent it)."""

    model_config = ConfigDict(extra="ignore")

    api_version: Literal["wattcast.dev/v1alpha1"] = "wattcast.dev/v1alpha1"
    kind: Literal["TrainingJob"] = "TrainingJob"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: TrainingJobSpec
    status: TrainingJobStatus | None = None


class TerminationMessage(_Model):
    """What the trainer writes to its termination log (at most 4096 bytes, docs/design.md §4).

    The operator copies it into the status when the trainer could not reach the API.
    """

    phase: Literal["Succeeded", "Failed"] = Field(description="How the attempt ended.")
    reason: str = Field(max_length=128, pattern=CAMEL_CASE_PATTERN, description="CamelCase.")
    message: str = Field(default="", max_length=1024, description="For a person.")
    result: TrainingResult | None = Field(default=None, description="On success.")

    def to_bytes(self) -> bytes:
        """Serialized, shortening the message so the whole fits Kubernetes' limit."""
        data = self.model_dump_json(by_alias=True, exclude_none=True).encode()
        if len(data) <= constants.TERMINATION_MESSAGE_MAX_BYTES:
            return data
        overflow = len(data) - constants.TERMINATION_MESSAGE_MAX_BYTES
        shorter = self.message.encode()[: max(0, len(self.message.encode()) - overflow - 3)]
        trimmed = self.model_copy(update={"message": shorter.decode(errors="ignore") + "..."})
        return trimmed.model_dump_json(by_alias=True, exclude_none=True).encode()
