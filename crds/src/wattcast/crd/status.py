"""What a TrainingJob reports: its status, conditions, training figures and result, and
the CEL rules that keep a finished status finished (docs/design.md §2).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, JsonValue, StrictFloat, StrictInt

from wattcast.crd import constants
from wattcast.crd.choices import TERMINAL_PHASES, Phase
from wattcast.crd.fieldtypes import CAMEL_CASE_PATTERN, ContractModel, Timestamp, WholeInt


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ContractModel):
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


class ErrorMetrics(ContractModel):
    """Forecast error on the holdout, the same measures for the model and every baseline."""

    mae: StrictFloat = Field(ge=0, description="Mean absolute error.")
    rmse: StrictFloat = Field(ge=0, description="Root mean squared error.")
    smape: StrictFloat = Field(
        ge=0, le=200, description="Symmetric mean absolute percentage error, %."
    )


class Holdout(ContractModel):
    """The data kept out of training on which the errors were measured."""

    start: Timestamp = Field(description="First holdout timestamp.")
    end: Timestamp = Field(description="End of the holdout (exclusive).")
    points: StrictInt = Field(ge=0, description="Number of holdout points scored.")


class Metrics(ContractModel):
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


class TrainingResult(ContractModel):
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


class TrainingProgress(ContractModel):
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


class TrainingJobStatus(ContractModel):
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
