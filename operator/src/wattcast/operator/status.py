"""Job status → TrainingJob status (docs/design.md §2): pure functions, no I/O.

The operator owns `Pending`, `Queued`, `Suspended`, the terminal phases, `jobName`,
`attempts`, `startTime`, `completionTime` and the conditions; the trainer owns its running
phases, `progress`, `message` and `result`. Each function here takes the TrainingJob's
current status (the JSON dict the API returned) and what the operator observed, and returns a
`StatusChange`: the merge patch for the status subresource (empty when nothing changes) and the
phase transition it makes, which the caller announces as a Kubernetes Event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from wattcast.crd import (
    TERMINAL_PHASES,
    TRAINER_PHASES,
    ConditionType,
    Phase,
    Reason,
    TerminationMessage,
    constants,
    find_condition,
    set_condition,
)
from wattcast.crd.messages import redacted
from wattcast.crd.times import rfc3339
from wattcast.operator.admission import Admission
from wattcast.operator.blockers import Blocker

BLOCKED_PREFIX = "the trainer pod cannot start: "


class JobState(StrEnum):
    """What the Job is doing, as far as the TrainingJob cares."""

    PENDING = "Pending"  # not suspended, no pod active (yet, or between retries)
    SUSPENDED = "Suspended"  # spec.suspend: by us, or by Kueue until admission
    RUNNING = "Running"  # a trainer pod is active
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class JobObservation:
    """The parts of a batch/v1 Job the mapping reads."""

    name: str
    state: JobState
    queued: bool = False  # carries Kueue's queue label
    reason: str = ""  # the Failed condition's reason
    message: str = ""  # the Failed condition's message
    attempts: int = 0  # pods that ran: active + succeeded + failed
    start_time: str | None = None
    completion_time: str | None = None


@dataclass(frozen=True)
class StatusChange:
    """A merge patch for `status` and the phase transition it makes (None: phase unchanged)."""

    patch: dict[str, Any] = field(default_factory=dict)
    old_phase: str | None = None
    new_phase: str | None = None
    reason: str = ""
    message: str = ""

    @property
    def transition(self) -> bool:
        return self.new_phase is not None and self.new_phase != self.old_phase

    @property
    def event_type(self) -> str:
        return "Warning" if self.new_phase == Phase.FAILED else "Normal"


def _is_true(conditions: Sequence[Mapping[str, Any]], type_: str) -> Mapping[str, Any] | None:
    return next(
        (c for c in conditions if c.get("type") == type_ and c.get("status") == "True"), None
    )


def observe_job(job: Mapping[str, Any]) -> JobObservation:
    """Summarise a Job body (as the API returns it)."""
    metadata = job.get("metadata") or {}
    spec = job.get("spec") or {}
    status = job.get("status") or {}
    conditions: list[Mapping[str, Any]] = status.get("conditions") or []
    queued = constants.LABEL_KUEUE_QUEUE in (metadata.get("labels") or {})
    attempts = sum(int(status.get(k) or 0) for k in ("active", "succeeded", "failed"))
    common: dict[str, Any] = {
        "name": metadata.get("name", ""),
        "queued": queued,
        "attempts": attempts,
        "start_time": status.get("startTime"),
    }
    complete = _is_true(conditions, "Complete")
    if complete is not None:
        return JobObservation(
            state=JobState.SUCCEEDED,
            completion_time=status.get("completionTime") or complete.get("lastTransitionTime"),
            **common,
        )
    failed = _is_true(conditions, "Failed")
    if failed is not None:
        return JobObservation(
            state=JobState.FAILED,
            reason=str(failed.get("reason") or "JobFailed"),
            message=str(failed.get("message") or ""),
            completion_time=failed.get("lastTransitionTime"),
            **common,
        )
    if spec.get("suspend"):
        return JobObservation(state=JobState.SUSPENDED, **common)
    if int(status.get("active") or 0) > 0:
        return JobObservation(state=JobState.RUNNING, **common)
    return JobObservation(state=JobState.PENDING, **common)


def termination_message(pods: Sequence[Mapping[str, Any]]) -> TerminationMessage | None:
    """The trainer's termination message from the most recently finished pod, if any.

    A message that is not the trainer's JSON (a crash's log tail) is ignored: the Job's own
    condition then explains the failure.
    """
    found: list[tuple[str, TerminationMessage]] = []
    for pod in pods:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        for container in statuses:
            if container.get("name") != constants.TRAINER_CONTAINER:
                continue
            terminated = (container.get("state") or {}).get("terminated") or {}
            text = terminated.get("message")
            if not text:
                continue
            try:
                message = TerminationMessage.model_validate(json.loads(text))
            except (ValueError, ValidationError):
                continue
            found.append((str(terminated.get("finishedAt") or ""), message))
    if not found:
        return None
    return max(found, key=lambda item: item[0])[1]


def needs_termination_message(current: Mapping[str, Any], job: JobObservation) -> bool:
    """Whether the pods must be read: a finished Job whose outcome the status lacks."""
    if current.get("phase") in TERMINAL_PHASES:
        return False
    if job.state is JobState.FAILED:
        return True
    return job.state is JobState.SUCCEEDED and not current.get("result")


class _Builder:
    """Accumulates a status patch against the current status.

    Every message it writes (status.message, condition messages, the Event's) passes
    `redacted`: some come from elsewhere (the trainer's termination message, the Job
    controller's condition), and none may carry an internal address.
    """

    def __init__(self, current: Mapping[str, Any], now: datetime) -> None:
        self.current = current
        self.now = now
        self.patch: dict[str, Any] = {}
        self.conditions: list[dict[str, Any]] = list(current.get("conditions") or [])

    def set(self, key: str, value: Any) -> None:
        if key == "message" and isinstance(value, str):
            value = redacted(value)
        if value is not None and self.current.get(key) != value:
            self.patch[key] = value

    def condition(self, type_: str, status: bool, reason: str, message: str = "") -> None:
        self.conditions = set_condition(
            self.conditions,
            type=type_,
            status=status,
            reason=reason,
            message=redacted(message),
            now=self.now,
        )

    def clear(self, type_: str, reason: str, message: str = "") -> None:
        """Set `type_` False, only where it is present and True (absent means False)."""
        present = find_condition(self.conditions, type_)
        if present is not None and present.get("status") == "True":
            self.condition(type_, False, reason, message)

    def done(self, reason: str, message: str = "") -> StatusChange:
        if self.conditions != list(self.current.get("conditions") or []):
            self.patch["conditions"] = self.conditions
        old = self.current.get("phase")
        new = self.patch.get("phase")
        return StatusChange(
            patch=self.patch,
            old_phase=old,
            new_phase=new,
            reason=reason,
            message=redacted(message),
        )


def job_created(
    current: Mapping[str, Any],
    *,
    job_name: str,
    adopted: bool,
    queued: bool,
    suspended: bool,
    generation: int | None,
    now: datetime,
) -> StatusChange:
    """The Job exists (created now, or adopted after a 409): record it and the first phase."""
    b = _Builder(current, now)
    reason = Reason.JOB_ADOPTED if adopted else Reason.JOB_CREATED
    verb = "adopted the existing" if adopted else "created"
    message = f"{verb} Job {job_name}"
    b.set("jobName", job_name)
    b.set("observedGeneration", generation)
    b.condition(ConditionType.JOB_CREATED, True, reason, message)
    phase = current.get("phase")
    if phase in TERMINAL_PHASES or phase in TRAINER_PHASES:
        return b.done(reason, message)
    if suspended:
        b.set("phase", Phase.SUSPENDED.value)
        b.condition(ConditionType.SUSPENDED, True, Reason.SUSPENDED, "spec.suspend is true")
    elif queued:
        b.set("phase", Phase.QUEUED.value)
        b.condition(ConditionType.QUEUED, True, Reason.WAITING_FOR_ADMISSION, "waiting for Kueue")
    else:
        b.set("phase", Phase.PENDING.value)
    return b.done(reason, message)


def failed(current: Mapping[str, Any], *, reason: str, message: str, now: datetime) -> StatusChange:
    """Fail the TrainingJob for a reason of the operator's own (no Job, lost Job, conflict)."""
    b = _Builder(current, now)
    if current.get("phase") in TERMINAL_PHASES:
        return b.done(reason, message)
    b.set("phase", Phase.FAILED.value)
    b.set("message", message)
    b.set("completionTime", rfc3339(now))
    b.condition(ConditionType.FAILED, True, reason, message)
    b.clear(ConditionType.RUNNING, reason, message)
    return b.done(reason, message)


def pod_blocked(
    current: Mapping[str, Any], blocker: Blocker | None, *, now: datetime
) -> StatusChange:
    """The trainer pod cannot start (`blocker`), or it started (None): the Blocked condition.

    The phase stays: Kubernetes keeps retrying, and the pod starts once the missing thing is
    there. While blocked, `message` says what is missing; a finished TrainingJob keeps its record.
    """
    b = _Builder(current, now)
    if current.get("phase") in TERMINAL_PHASES:
        return b.done("")
    if blocker is None:
        started = "the trainer pod started"
        b.clear(ConditionType.BLOCKED, Reason.POD_STARTED, started)
        if str(current.get("message") or "").startswith(BLOCKED_PREFIX):
            b.set("message", started)
        return b.done(Reason.POD_STARTED, started)
    message = f"{BLOCKED_PREFIX}{blocker.reason}: {blocker.message}".rstrip(": ")
    b.condition(ConditionType.BLOCKED, True, blocker.reason, message)
    b.set("message", message)
    return b.done(blocker.reason, message)


def from_job(
    current: Mapping[str, Any],
    job: JobObservation,
    *,
    suspend: bool,
    cancelled: bool,
    termination: TerminationMessage | None,
    now: datetime,
    admission: Admission | None = None,
) -> StatusChange:
    """The TrainingJob status the Job's state calls for.

    `admission` is what Kueue says of a queued Job's wait (its Workload's conditions): a
    Queued TrainingJob shows it as its Queued condition and message.

    A finished TrainingJob keeps its record. While the trainer's pod runs, the trainer's own
    phases are kept; the operator only moves the phase out of Pending/Queued/Suspended when the
    Job's state says so, and into a terminal phase when the Job finishes.
    """
    b = _Builder(current, now)
    phase = current.get("phase")
    if phase in TERMINAL_PHASES:
        return b.done("")
    b.set("jobName", job.name)
    if job.attempts > int(current.get("attempts") or 0):
        b.set("attempts", job.attempts)
    if job.start_time and not current.get("startTime"):
        b.set("startTime", job.start_time)

    if job.state is JobState.SUCCEEDED:
        result = current.get("result")
        if not result and termination is not None and termination.result is not None:
            result = termination.result.to_json_dict()
            b.set("result", result)
        message = "training succeeded"
        if termination is not None and termination.message:
            message = termination.message
        elif not result:
            message = "the Job completed but the trainer reported no result"
        b.set("phase", Phase.SUCCEEDED.value)
        b.set("progress", 100)
        b.set("message", message)
        b.set("completionTime", job.completion_time or rfc3339(now))
        b.condition(ConditionType.COMPLETE, True, Reason.TRAINING_SUCCEEDED, message)
        b.clear(ConditionType.RUNNING, Reason.TRAINING_SUCCEEDED, message)
        return b.done(Reason.TRAINING_SUCCEEDED, message)

    if job.state is JobState.FAILED:
        if termination is not None and termination.phase == "Failed":
            message = f"{termination.reason}: {termination.message}".rstrip(": ")
        else:
            message = job.message or f"the Job failed ({job.reason})"
        b.set("phase", Phase.FAILED.value)
        b.set("message", message)
        b.set("completionTime", job.completion_time or rfc3339(now))
        b.condition(ConditionType.FAILED, True, job.reason, message)
        b.clear(ConditionType.RUNNING, job.reason, message)
        return b.done(job.reason, message)

    if job.state is JobState.SUSPENDED:
        if suspend:
            reason = Reason.CANCELLED if cancelled else Reason.SUSPENDED
            message = "cancelled" if cancelled else "spec.suspend is true"
            b.set("phase", Phase.SUSPENDED.value)
            b.condition(ConditionType.SUSPENDED, True, reason, message)
            b.clear(ConditionType.RUNNING, reason, message)
            return b.done(reason, message)
        if job.queued:
            reason, message = Reason.WAITING_FOR_ADMISSION, "waiting for Kueue to admit the Job"
            if admission is not None:
                reason, message = admission.reason, admission.message
            b.set("phase", Phase.QUEUED.value)
            b.set("message", message)
            b.condition(ConditionType.QUEUED, True, reason, message)
            b.clear(ConditionType.SUSPENDED, Reason.RESUMED, "spec.suspend is false")
            b.clear(ConditionType.RUNNING, reason, message)
            return b.done(reason, message)
        # Suspended without a queue while the TrainingJob is not: the operator's resume
        # patch is on its way; the TrainingJob waits in Pending.
        b.clear(ConditionType.SUSPENDED, Reason.RESUMED, "spec.suspend is false")
        if phase not in TRAINER_PHASES:
            b.set("phase", Phase.PENDING.value)
        return b.done(Reason.RESUMED, "resuming")

    # Running or pending: admitted by Kueue, resumed, or not started yet.
    b.clear(ConditionType.QUEUED, Reason.ADMITTED, "Kueue admitted the Job")
    b.clear(ConditionType.SUSPENDED, Reason.RESUMED, "spec.suspend is false")
    if phase == Phase.QUEUED:
        b.set("message", "Kueue admitted the Job")  # no longer the reason of the wait
    if phase not in TRAINER_PHASES:
        b.set("phase", Phase.PENDING.value)
    if job.state is JobState.RUNNING:
        b.condition(ConditionType.RUNNING, True, Reason.POD_RUNNING, "a trainer pod is running")
        return b.done(Reason.POD_RUNNING, "a trainer pod is running")
    return b.done(Reason.ADMITTED if phase == Phase.QUEUED else Reason.RESUMED, "waiting for a pod")
