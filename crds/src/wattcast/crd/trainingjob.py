"""The TrainingJob contract: the whole object, and every model of it (docs/design.md §2).

These models are the one source of truth. `wattcast-crds` (wattcast.crd.generate) turns them
into crds/trainingjob.yaml; the API uses the spec model as its request body; the operator and
the trainer validate with them. Every field carries a description (it becomes `kubectl
explain`) and its bounds (every string a maxLength, every list a maxItems), so a real API
server's CEL cost budget holds.

The models live by what they describe: `spec.py` (what a TrainingJob asks for), `status.py`
(what it reports), `choices.py` (the closed sets), `fieldtypes.py` (how a field is checked,
and the base model); this module holds the object itself and names them all, so
`from wattcast.crd.trainingjob import ...` reaches every one.

JSON and YAML are camelCase, Python is snake_case: pydantic aliases join the two. Construct
models with the Python names or the JSON names alike (`populate_by_name`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from wattcast.crd import constants
from wattcast.crd.choices import (
    TERMINAL_PHASES,
    TRAINER_PHASES,
    InfluxDialect,
    MeterType,
    ModelType,
    Phase,
    PromotePolicy,
    Resolution,
)
from wattcast.crd.fieldtypes import (
    CAMEL_CASE_PATTERN,
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
from wattcast.crd.quantities import QUANTITY_MAX_LENGTH, QUANTITY_PATTERN, quantity_value
from wattcast.crd.spec import (
    InfluxSource,
    ModelSpec,
    ResourceList,
    ResourceRequirements,
    SecretKeyRef,
    SourceRef,
    TrainingJobSpec,
)
from wattcast.crd.status import (
    FINISHED_STATUS_RULES,
    Condition,
    ConditionStatus,
    ErrorMetrics,
    Holdout,
    Metrics,
    TrainingJobStatus,
    TrainingProgress,
    TrainingResult,
)


class ObjectMeta(ContractModel):
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


class TrainingJob(ContractModel):
    """A whole TrainingJob object, as read from the API (metadata kept as the server sent it)."""

    model_config = ConfigDict(extra="ignore")

    api_version: Literal["wattcast.dev/v1alpha1"] = "wattcast.dev/v1alpha1"
    kind: Literal["TrainingJob"] = "TrainingJob"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: TrainingJobSpec
    status: TrainingJobStatus | None = None


class TerminationMessage(ContractModel):
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


__all__ = [
    "CAMEL_CASE_PATTERN",
    "DNS_LABEL_MAX_LENGTH",
    "DNS_LABEL_PATTERN",
    "FINISHED_STATUS_RULES",
    "INFLUX_NAME_PATTERN",
    "MAX_RANGE",
    "MAX_RANGE_CEL_DURATION",
    "METER_ID_PATTERN",
    "QUANTITY_MAX_LENGTH",
    "QUANTITY_PATTERN",
    "TERMINAL_PHASES",
    "TRAINER_PHASES",
    "WHOLE",
    "Condition",
    "ConditionStatus",
    "ErrorMetrics",
    "Holdout",
    "InfluxDialect",
    "InfluxSource",
    "MeterType",
    "Metrics",
    "ModelSpec",
    "ModelType",
    "ObjectMeta",
    "Phase",
    "PromotePolicy",
    "Quantity",
    "Resolution",
    "ResourceList",
    "ResourceRequirements",
    "SecretKeyRef",
    "SourceRef",
    "TerminationMessage",
    "Timestamp",
    "TrainingJob",
    "TrainingJobSpec",
    "TrainingJobStatus",
    "TrainingProgress",
    "TrainingResult",
    "WholeInt",
    "quantity_value",
]
