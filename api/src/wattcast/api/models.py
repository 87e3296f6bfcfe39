"""Request and response schemas of the REST API (`XCreate` / `XPublic` / `XsPublic`).

The seed's endpoints keep the seed's snake_case JSON exactly (docs/seed.md); the /v1 resource API
speaks the contract's camelCase. Every field has a description: this module is what the
OpenAPI document shows. Request bodies are checked by the contract's own models
(wattcast.crd), so the API accepts exactly what the CRD accepts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from wattcast.crd import MeterType, Phase, TrainingJobSpec, TrainingJobStatus
from wattcast.crd.constants import MAX_NAME_LENGTH
from wattcast.crd.fleettrainingjob import FleetPhase, FleetTrainingJobSpec, FleetTrainingJobStatus
from wattcast.crd.names import DNS_LABEL_PATTERN
from wattcast.crd.trainingjob import METER_ID_PATTERN, Timestamp

# Idempotency keys: printable ASCII without spaces, as most clients generate (UUIDs, ULIDs).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class TaskStatus(StrEnum):
    """The seed's (Celery's) status words, mapped from its phase (docs/design.md §2.1)."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    SUSPENDED = "SUSPENDED"
    PROCESSING_DATA = "PROCESSING_DATA"
    TRAINING = "TRAINING"
    SAVING_MODEL = "SAVING_MODEL"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"


class Stage(StrEnum):
    """Where a TrainingJob is, in a person's words: its phase, or Cancelled (REVOKED).

    What every client shows (dashboard, CLI), decided here once.
    """

    PENDING = "Pending"
    QUEUED = "Queued"
    SUSPENDED = "Suspended"
    PROCESSING_DATA = "Processing data"
    TRAINING = "Training"
    SAVING_MODEL = "Saving model"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


# --- the seed's endpoints (snake_case, docs/seed.md) --------------------------------------


class TrainModelCreate(BaseModel):
    """Body of `POST /trainmodel/v2/`: the seed's request, unchanged.

    Checked again as a TrainingJobSpec (start_date -> start, end_date -> end), so every rule
    of the CRD applies: end after start, a range of at most 10 years.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "meter_id": "meter1",
                    "meter_type": "electricity",
                    "start_date": "2023-01-01T00:00:00Z",
                    "end_date": "2023-12-31T23:59:59Z",
                }
            ]
        },
    )

    meter_id: str = Field(
        description=TrainingJobSpec.model_fields["meter_id"].description or "",
        min_length=1,
        max_length=128,
        pattern=METER_ID_PATTERN,
    )
    meter_type: MeterType = Field(
        description=TrainingJobSpec.model_fields["meter_type"].description or ""
    )
    start_date: Timestamp = Field(
        description="Start of the data range, RFC 3339 with a time zone (inclusive)."
    )
    end_date: Timestamp = Field(
        description="End of the data range, RFC 3339 with a time zone (exclusive); "
        "after start_date, at most 10 years later."
    )


class SuccessDetails(BaseModel):
    """`result.details` of a successful task (the seed's shape)."""

    meter_id: str = Field(description="The meter the model was trained for.")
    meter_type: MeterType = Field(description="electricity or water.")
    data_points: int = Field(description="Points used for training, after cleaning.")
    model_path: str | None = Field(
        default=None,
        description="The saved model: `models/` + the TrainingJob's status.result.modelPath; "
        "absent when the status names no model in the meter's own directory "
        "(`<meterType>/<meterId>/versions/`).",
    )
    training_completed: str = Field(description="When training finished (ISO 8601).")
    promoted: bool | None = Field(
        default=None, description="Whether the model became the meter's current model."
    )
    promotion_reason: str | None = Field(
        default=None, description="Why it was promoted or not (the promotion gate)."
    )


class FailureDetails(BaseModel):
    """`result.details` of a failed task (docs/design.md §2.1)."""

    reason: str = Field(
        description="CamelCase reason, such as DataInsufficient or BackoffLimitExceeded."
    )
    meter_id: str = Field(description="The meter of the task.")
    meter_type: MeterType = Field(description="electricity or water.")
    attempts: int | None = Field(default=None, description="Trainer pods run (retries).")
    failed_at: str | None = Field(default=None, description="When the task failed (ISO 8601).")


class TaskResultPublic(BaseModel):
    """`result` of a finished task: the seed's success shape, also used for failures."""

    status: Literal["success", "failure"] = Field(description="success or failure.")
    message: str = Field(description="What happened, for a person.")
    details: SuccessDetails | FailureDetails = Field(description="Facts about the outcome.")


class TaskPublic(BaseModel):
    """A training task as the seed reported it; `task_id` is the TrainingJob's name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "task_id": "a1b2c3d4-e5f6-7890-abcd-1234567890ab",
                    "status": "PROCESSING_DATA",
                    "progress": 30,
                }
            ]
        }
    )

    task_id: str = Field(description="The TrainingJob's name (a UUID when the API chose it).")
    status: TaskStatus = Field(description="Status word (docs/design.md §2.1).")
    progress: int = Field(ge=0, le=100, description="Percent done.")
    result: TaskResultPublic | None = Field(
        default=None, description="Present once the task succeeded or failed."
    )


# --- the /v1 resource API (camelCase, as the contract) -----------------------------------


class _CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def _name_field(kind: str) -> Any:
    """The optional `name` of a create request."""
    return Field(
        default=None,
        description=f"Name of the {kind} (a DNS-1123 label); the API picks a UUID if unset. "
        f"Creating an existing name with the same spec returns that {kind}.",
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        pattern=DNS_LABEL_PATTERN,
    )


class TrainingJobCreate(TrainingJobSpec):
    """Body of `POST /v1/trainingjobs`: a TrainingJob spec, optionally with a name.

    Without a name the API makes one: a UUID, or one derived from the Idempotency-Key header.
    Name a configured InfluxDB source in `source.name`; an unknown one is refused with 422.
    """

    name: str | None = _name_field("TrainingJob")

    def spec(self) -> TrainingJobSpec:
        """The spec part, as the contract model."""
        return TrainingJobSpec.model_validate(self.model_dump(exclude={"name"}))


_Item = TypeVar("_Item", bound=BaseModel)


class _ObjectPublic(_CamelModel):
    """What the resource API shows of any object: who it is, and its state in a client's terms
    (the API decides whether it finished, and why it failed)."""

    name: str = Field(description="Name of the object (a TrainingJob's is the seed's task_id).")
    namespace: str = Field(description="Namespace of the object.")
    uid: str | None = Field(default=None, description="Kubernetes uid.")
    resource_version: str | None = Field(default=None, description="Kubernetes resourceVersion.")
    created_at: datetime | None = Field(default=None, description="creationTimestamp.")


class _PagePublic(_CamelModel, Generic[_Item]):
    """One page of a list."""

    items: list[_Item] = Field(description="The objects on this page.")
    count: int = Field(ge=0, description="Number of items on this page.")
    continue_: str | None = Field(
        default=None,
        alias="continue",
        description="Pass as `continue` to get the next page; absent on the last page.",
    )


class TrainingJobPublic(_ObjectPublic):
    """A TrainingJob as the resource API shows it."""

    task_status: TaskStatus = Field(description="The seed's status word for this TrainingJob.")
    stage: Stage = Field(description="Where it is, for a person: its phase, or Cancelled.")
    finished: bool = Field(
        description="It will not change any more: SUCCESS, FAILURE or REVOKED (cancelled)."
    )
    phase: Phase | None = Field(
        default=None, description="status.phase; none before the operator saw the TrainingJob."
    )
    progress: int = Field(ge=0, le=100, description="Percent done.")
    message: str | None = Field(default=None, description="The latest word, for a person.")
    failure_reason: str | None = Field(
        default=None,
        description="Why it failed, a CamelCase reason such as DataInsufficient (FAILURE only).",
    )
    failure_message: str | None = Field(
        default=None, description="What went wrong, for a person (FAILURE only)."
    )
    cancelled: bool = Field(description="Cancelled for good (reported as REVOKED).")
    idempotency_key: str | None = Field(
        default=None, description="The Idempotency-Key it was created with, if any."
    )
    spec: TrainingJobSpec | None = Field(
        default=None, description="What to train (none if the stored spec is not valid)."
    )
    status: TrainingJobStatus | None = Field(default=None, description="The full status.")


class TrainingJobsPublic(_PagePublic[TrainingJobPublic]):
    """One page of TrainingJobs."""


# --- FleetTrainingJobs (the same resource API, another kind) -------------------------------


class FleetStage(StrEnum):
    """Where a FleetTrainingJob is, in a person's words: its phase, or Cancelled."""

    PENDING = "Pending"
    DISCOVERING = "Discovering meters"
    RUNNING = "Running"
    SUSPENDED = "Suspended"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class FleetTrainingJobCreate(FleetTrainingJobSpec):
    """Body of `POST /v1/fleettrainingjobs`: a FleetTrainingJob spec, optionally with a name.

    `meters` takes exactly one of `ids` (a bounded list) and `discover` (every meter of the
    measurement in the source, optionally filtered by `pattern`). Names, Idempotency-Keys and
    sources work as for TrainingJobs.
    """

    name: str | None = _name_field("FleetTrainingJob")

    def spec(self) -> FleetTrainingJobSpec:
        """The spec part, as the contract model."""
        return FleetTrainingJobSpec.model_validate(self.model_dump(exclude={"name"}))


class FleetTrainingJobPublic(_ObjectPublic):
    """A FleetTrainingJob as the resource API shows it: its state, and the full status
    (counts, the first failures, the MAE / baseline aggregates and histogram, shards)."""

    stage: FleetStage = Field(description="Where it is, for a person: its phase, or Cancelled.")
    finished: bool = Field(
        description="It will not change any more: Succeeded, Failed, or cancelled."
    )
    phase: FleetPhase | None = Field(
        default=None, description="status.phase; none before the operator saw it."
    )
    progress: int = Field(ge=0, le=100, description="Percent of the meters finished.")
    meters_finished: int = Field(ge=0, description="Meters finished (succeeded or failed).")
    meters_total: int | None = Field(
        default=None, ge=0, description="Meters in the fleet; none until they are known."
    )
    message: str | None = Field(default=None, description="The latest word, for a person.")
    failure_reason: str | None = Field(
        default=None, description="Why the fleet failed, a CamelCase reason (Failed only)."
    )
    failure_message: str | None = Field(
        default=None, description="What went wrong, for a person (Failed only)."
    )
    cancelled: bool = Field(description="Cancelled for good; never resumed.")
    idempotency_key: str | None = Field(
        default=None, description="The Idempotency-Key it was created with, if any."
    )
    spec: FleetTrainingJobSpec | None = Field(
        default=None, description="What to train (none if the stored spec is not valid)."
    )
    status: FleetTrainingJobStatus | None = Field(default=None, description="The full status.")


class FleetTrainingJobsPublic(_PagePublic[FleetTrainingJobPublic]):
    """One page of FleetTrainingJobs."""


class StreamSyncedPublic(_CamelModel):
    """Data of the `SYNCED` event: the initial state has been sent, changes follow."""

    resource_version: str | None = Field(
        default=None, description="The list's resourceVersion the watch starts from."
    )
    count: int = Field(ge=0, description="TrainingJobs sent as ADDED before this event.")


# --- errors and health --------------------------------------------------------------------


class FieldErrorPublic(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="The field, dotted (`meter_id`, `source.name`, `task_id`).")
    location: list[str | int] = Field(
        description="Where: body, query, path or header, then the path within it."
    )
    message: str = Field(description="What is wrong and what is accepted.")
    type: str = Field(description="Machine-readable error type (pydantic's).")


class ErrorPublic(BaseModel):
    """Every error response: a message a person can act on, a code, and field errors."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "Invalid request: meter_id: must match ^[A-Za-z0-9]...",
                    "code": "invalid",
                    "errors": [
                        {
                            "field": "meter_id",
                            "location": ["body", "meter_id"],
                            "message": "String should match pattern ...",
                            "type": "string_pattern_mismatch",
                        }
                    ],
                }
            ]
        }
    )

    detail: str = Field(description="What went wrong and what to do about it.")
    code: Annotated[
        str,
        Field(
            description="unauthorized, forbidden, not_found, conflict, invalid, too_large, "
            "rate_limited, unavailable, bad_gateway or internal."
        ),
    ]
    errors: list[FieldErrorPublic] | None = Field(
        default=None, description="Field-level errors of an invalid request."
    )


class HealthPublic(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"] = Field(
        description="ok, or unavailable (the reason is in the API's log, not here: the probe "
        "is unauthenticated)."
    )
