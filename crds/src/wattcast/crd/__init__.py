"""The TrainingJob contract shared by the operator, trainer and API (docs/design.md §2).

It imports nothing else of ours; every other component imports it and nothing of each other.
"""

from wattcast.crd import constants
from wattcast.crd.conditions import ConditionType, Reason, find_condition, set_condition
from wattcast.crd.trainingjob import (
    TERMINAL_PHASES,
    TRAINER_PHASES,
    Condition,
    ConditionStatus,
    ErrorMetrics,
    Holdout,
    InfluxDialect,
    InfluxSource,
    MeterType,
    Metrics,
    ModelSpec,
    ModelType,
    Phase,
    Resolution,
    ResourceRequirements,
    SecretKeyRef,
    SourceRef,
    TerminationMessage,
    TrainingJob,
    TrainingJobSpec,
    TrainingJobStatus,
    TrainingProgress,
    TrainingResult,
)

__all__ = [
    "TERMINAL_PHASES",
    "TRAINER_PHASES",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "ErrorMetrics",
    "Holdout",
    "InfluxDialect",
    "InfluxSource",
    "MeterType",
    "Metrics",
    "ModelSpec",
    "ModelType",
    "Phase",
    "Reason",
    "Resolution",
    "ResourceRequirements",
    "SecretKeyRef",
    "SourceRef",
    "TerminationMessage",
    "TrainingJob",
    "TrainingJobSpec",
    "TrainingJobStatus",
    "TrainingProgress",
    "TrainingResult",
    "constants",
    "find_condition",
    "set_condition",
]
