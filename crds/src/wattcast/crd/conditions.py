"""Standard Kubernetes conditions on a TrainingJob: their types, reasons, and the one helper
that sets them.

Condition types name states; reasons are CamelCase constants (kubeflow/trainer's style).
`set_condition` works on the JSON form (a list of dicts), which is what status patches carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from wattcast.crd.times import now_utc, parse_rfc3339
from wattcast.crd.trainingjob import Condition, ConditionStatus


class ConditionType:
    """Condition types on a TrainingJob."""

    JOB_CREATED: Final = "JobCreated"
    QUEUED: Final = "Queued"
    SUSPENDED: Final = "Suspended"
    RUNNING: Final = "Running"
    # The trainer pod cannot start: something it needs is missing (reason and message say what).
    BLOCKED: Final = "Blocked"
    COMPLETE: Final = "Complete"
    FAILED: Final = "Failed"


class Reason:
    """Condition reasons (CamelCase). The REST API reports them in `details.reason`."""

    # Operator: the Job's life.
    JOB_CREATED: Final = "JobCreated"
    JOB_ADOPTED: Final = "JobAdopted"
    JOB_NAME_CONFLICT: Final = "JobNameConflict"
    TRAINER_IDENTITY_CONFLICT: Final = "TrainerIdentityConflict"
    JOB_LOST: Final = "JobLost"
    WAITING_FOR_ADMISSION: Final = "WaitingForAdmission"
    ADMITTED: Final = "Admitted"
    SUSPENDED: Final = "Suspended"
    CANCELLED: Final = "Cancelled"
    RESUMED: Final = "Resumed"
    POD_RUNNING: Final = "PodRunning"
    # Blocked=False once the trainer pod starts; Blocked=True carries the kubelet's or the
    # scheduler's reason (ErrImagePull, ImagePullBackOff, CreateContainerConfigError,
    # Unschedulable, ...).
    POD_STARTED: Final = "PodStarted"
    TRAINING_SUCCEEDED: Final = "TrainingSucceeded"
    # The Job controller's failure reasons (batch/v1 JobFailed condition).
    BACKOFF_LIMIT_EXCEEDED: Final = "BackoffLimitExceeded"
    DEADLINE_EXCEEDED: Final = "DeadlineExceeded"
    POD_FAILURE_POLICY: Final = "PodFailurePolicy"
    # Refused before any Job is made.
    UNKNOWN_SOURCE: Final = "UnknownSource"
    SOURCE_OVERRIDE_NOT_ALLOWED: Final = "SourceOverrideNotAllowed"
    INVALID_SPEC: Final = "InvalidSpec"
    # The trainer's own (termination message and status).
    DATA_INSUFFICIENT: Final = "DataInsufficient"
    NO_DATA: Final = "NoData"
    INVALID_METER_ID: Final = "InvalidMeterId"
    INVALID_CONFIG: Final = "InvalidConfig"
    INFLUX_UNAVAILABLE: Final = "InfluxUnavailable"
    TRAINING_ERROR: Final = "TrainingError"


def set_condition(
    conditions: Sequence[dict[str, Any]] | None,
    *,
    type: str,
    status: ConditionStatus | bool,
    reason: str,
    message: str = "",
    observed_generation: int | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Return `conditions` with the condition of `type` set (the list is keyed by type).

    `lastTransitionTime` changes only when the condition's status changes, as Kubernetes
    conventions require; reason and message are always updated. The input is not modified.
    """
    if isinstance(status, bool):
        status = ConditionStatus.TRUE if status else ConditionStatus.FALSE
    existing = {c["type"]: c for c in conditions or []}
    previous = existing.get(type)
    transition = now or now_utc()
    if previous is not None and previous.get("status") == status.value:
        transition = parse_rfc3339(previous.get("lastTransitionTime")) or transition
    updated = Condition(
        type=type,
        status=status,
        reason=reason,
        message=message[:4096],
        last_transition_time=transition,
        observed_generation=observed_generation,
    ).to_json_dict()
    result = [c for c in conditions or [] if c.get("type") != type]
    # Keep the order stable: replace in place when present, else append.
    if previous is not None:
        index = [c.get("type") for c in conditions or []].index(type)
        result.insert(index, updated)
    else:
        result.append(updated)
    return result


def find_condition(conditions: Sequence[dict[str, Any]] | None, type: str) -> dict[str, Any] | None:
    """The condition of `type`, or None."""
    return next((c for c in conditions or [] if c.get("type") == type), None)
