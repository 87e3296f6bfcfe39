"""The trainer's failures, each with its condition reason and exit code (docs/design.md §4).

A permanent error (exit 2) fails the Job at once through its podFailurePolicy: retrying cannot
help (no data, too little data, a hostile meter id, a bad configuration). Anything else exits 1
and is retried up to the TrainingJob's backoffLimit.

A failure's `message` is for people (it becomes the status and termination message) and names
an InfluxDB source by its configured name, never its URL; what only an operator needs (the URL,
the exception, a server's body) goes in `detail`, which is logged. `public_message` is the one
place any failure, expected or not, becomes words for the status.
"""

from __future__ import annotations

import logging

from wattcast.crd import Reason, constants
from wattcast.crd.messages import redacted

log = logging.getLogger(__name__)

EXIT_RETRIABLE = 1


class TrainerError(Exception):
    """A failure the trainer reports with a reason; retriable unless a subclass says not."""

    reason: str = Reason.TRAINING_ERROR
    exit_code: int = EXIT_RETRIABLE

    def __init__(self, message: str, *, reason: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
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


def public_message(error: BaseException) -> str:
    """What the status and the termination message say about `error`, for people.

    A TrainerError's own message (third-party words in it redacted); for anything else only
    its kind. The details are logged here, once.
    """
    if isinstance(error, TrainerError):
        if error.detail:
            log.error("%s: %s (%s)", error.reason, error.message, error.detail)
        return redacted(error.message)
    log.error("unexpected failure", exc_info=error)
    return f"unexpected {type(error).__name__} in the trainer; the pod's log has the details"


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
