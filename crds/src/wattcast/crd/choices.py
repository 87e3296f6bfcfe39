"""The closed sets of the contract: meter types, dialects, phases, model types, promotion
policies and resolutions (each an `enum` in the CRD).
"""

from __future__ import annotations

from enum import StrEnum

from wattcast.crd import constants


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
