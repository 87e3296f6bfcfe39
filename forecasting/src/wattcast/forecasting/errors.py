"""The trainer's failures, each with its condition reason and exit code (docs/design.md §4).

A permanent error (exit 2) fails the Job at once through its podFailurePolicy: retrying cannot
help (no data, too little data, a hostile meter id, a bad configuration). Anything else exits 1
and is retried up to the TrainingJob's backoffLimit.
"""

from __future__ import annotations

from wattcast.crd import Reason, constants

EXIT_RETRIABLE = 1


class TrainerError(Exception):
    """A failure the trainer reports with a reason; retriable unless a subclass says not."""

    reason: str = Reason.TRAINING_ERROR
    exit_code: int = EXIT_RETRIABLE

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class PermanentError(TrainerError):
    """Retrying cannot help: exit 2."""

    exit_code = constants.EXIT_PERMANENT
    reason = Reason.INVALID_CONFIG


class InvalidMeterIdError(PermanentError):
    reason = Reason.INVALID_METER_ID


class InvalidConfigError(PermanentError):
    reason = Reason.INVALID_CONFIG


class NoDataError(PermanentError):
    reason = Reason.NO_DATA


class DataInsufficientError(PermanentError):
    reason = Reason.DATA_INSUFFICIENT


class SourceUnavailableError(TrainerError):
    """InfluxDB could not be reached or failed on its side: worth a retry."""

    reason = Reason.INFLUX_UNAVAILABLE


# The forecasting path's failures (docs/forecasts.md); the REST API maps each to its status.
class NoCurrentModelError(PermanentError):
    """The meter has no current model (never trained, or no version promoted yet): 404."""

    reason = "NoCurrentModel"


class ModelMismatchError(PermanentError):
    """The model directory holds another meter's model, or unreadable metadata."""

    reason = "ModelMismatch"


class InvalidForecastRequestError(PermanentError):
    """A parameter is out of bounds (hours beyond the model's horizon, an off-grid origin)."""

    reason = "InvalidRequest"


class NoDataBeforeOriginError(PermanentError):
    """Not enough data before the origin to rebuild the model's inputs."""

    reason = "NoData"


class RecentDataMissingError(PermanentError):
    """The data stops before the origin by more than the bridgeable gap; names the gap."""

    reason = "RecentDataMissing"
