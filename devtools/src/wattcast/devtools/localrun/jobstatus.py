"""What the Kubernetes Job controller decides, as pure functions (no I/O, no clock).

The local runner asks these functions what a batch/v1 Job's status becomes when one of its
pods ends, when its deadline passes, when it is suspended or resumed, and how long the next
retry waits. Each mirrors the real controller (kube-controller-manager's `job` package, 1.31+):

- a pod's failure goes through `spec.podFailurePolicy` first: the first matching rule decides
  (`FailJob` fails the Job at once, `Ignore` does not count the failure, `Count` counts it);
  a pod no rule matches is counted;
- counted failures beyond `spec.backoffLimit` fail the Job (`BackoffLimitExceeded`);
- a Job active longer than `spec.activeDeadlineSeconds` fails (`DeadlineExceeded`);
- the retry delay doubles from a base (10 s in Kubernetes) up to a cap (6 minutes);
- a terminal Job gets `FailureTarget` then `Failed`, or `SuccessCriteriaMet` then `Complete`,
  with the controller's reasons and messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

# The controller's reasons and messages (pkg/controller/job and batch/v1 types).
REASON_BACKOFF_LIMIT: Final = "BackoffLimitExceeded"
REASON_DEADLINE: Final = "DeadlineExceeded"
REASON_POD_FAILURE_POLICY: Final = "PodFailurePolicy"
REASON_COMPLETIONS: Final = "CompletionsReached"
REASON_SUSPENDED: Final = "JobSuspended"
REASON_RESUMED: Final = "JobResumed"
MESSAGE_BACKOFF_LIMIT: Final = "Job has reached the specified backoff limit"
MESSAGE_DEADLINE: Final = "Job was active longer than specified deadline"
MESSAGE_COMPLETIONS: Final = "Reached expected number of succeeded pods"
MESSAGE_SUSPENDED: Final = "Job suspended"
MESSAGE_RESUMED: Final = "Job resumed"

DISRUPTION_TARGET: Final = "DisruptionTarget"
DEFAULT_BACKOFF_LIMIT: Final = 6  # batch/v1's default when a Job sets none


class FailureAction(StrEnum):
    """What a podFailurePolicy rule does with a failed pod."""

    FAIL_JOB = "FailJob"
    IGNORE = "Ignore"
    COUNT = "Count"


@dataclass(frozen=True)
class PodFailure:
    """How one pod ended: its containers' exit codes and its conditions."""

    pod_name: str
    namespace: str
    exit_codes: Mapping[str, int]  # container name -> exit code (non-zero ones matter)
    conditions: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class FailureDecision:
    """The outcome of a pod failure for its Job."""

    action: FailureAction
    rule_index: int | None = None
    message: str = ""


def _exit_rule_matches(rule: Mapping[str, Any], failure: PodFailure) -> tuple[bool, str, int]:
    on_exit = rule.get("onExitCodes") or {}
    container = on_exit.get("containerName")
    operator = on_exit.get("operator", "In")
    values = {int(v) for v in on_exit.get("values") or []}
    for name, code in failure.exit_codes.items():
        if container is not None and name != container:
            continue
        # Exit code 0 never matches (the API requires NotIn rules to be read this way too).
        if code == 0:
            continue
        hit = code in values if operator == "In" else code not in values
        if hit:
            return True, name, code
    return False, "", 0


def _condition_rule_matches(rule: Mapping[str, Any], failure: PodFailure) -> bool:
    wanted = rule.get("onPodConditions") or []
    present = {(c.get("type"), c.get("status")) for c in failure.conditions}
    return any((p.get("type"), p.get("status", "True")) in present for p in wanted)


def decide_failure(job_spec: Mapping[str, Any], failure: PodFailure) -> FailureDecision:
    """Apply `spec.podFailurePolicy` to a failed pod: the first matching rule wins."""
    policy = job_spec.get("podFailurePolicy") or {}
    for index, rule in enumerate(policy.get("rules") or []):
        action = FailureAction(str(rule.get("action", "Count")))
        if rule.get("onExitCodes"):
            hit, container, code = _exit_rule_matches(rule, failure)
            if hit:
                message = (
                    f"Container {container} for pod {failure.namespace}/{failure.pod_name} "
                    f"failed with exit code {code} matching {action.value} rule at index {index}"
                )
                return FailureDecision(action, index, message)
        elif rule.get("onPodConditions") and _condition_rule_matches(rule, failure):
            message = (
                f"Pod {failure.namespace}/{failure.pod_name} has condition "
                f"{DISRUPTION_TARGET} matching {action.value} rule at index {index}"
            )
            return FailureDecision(action, index, message)
    return FailureDecision(FailureAction.COUNT)


def backoff_limit(job_spec: Mapping[str, Any]) -> int:
    value = job_spec.get("backoffLimit")
    return DEFAULT_BACKOFF_LIMIT if value is None else int(value)


def backoff_exceeded(job_spec: Mapping[str, Any], failed: int) -> bool:
    """Whether `failed` counted failures fail the Job (the limit is the retries allowed)."""
    return failed > backoff_limit(job_spec)


def retry_delay(failed: int, *, base_seconds: float, max_seconds: float) -> float:
    """Seconds before the next pod after `failed` counted failures: base * 2^(failed-1), capped."""
    if failed <= 0:
        return 0.0
    return float(min(max_seconds, base_seconds * (2 ** min(failed - 1, 30))))


def deadline_exceeded(job: Mapping[str, Any], now: datetime) -> bool:
    """Whether an active Job has run past `spec.activeDeadlineSeconds` (from status.startTime)."""
    spec = job.get("spec") or {}
    deadline = spec.get("activeDeadlineSeconds")
    start = (job.get("status") or {}).get("startTime")
    if deadline is None or not start or spec.get("suspend"):
        return False
    started = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
    return (now - started).total_seconds() >= float(deadline)


def timestamp(now: datetime) -> str:
    """RFC 3339 in whole seconds, as the API server writes times."""
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    type_: str, reason: str, message: str, now: datetime, status: str = "True"
) -> dict[str, Any]:
    stamp = timestamp(now)
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
    }


def with_condition(
    conditions: Sequence[Mapping[str, Any]] | None,
    new: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """`conditions` with `new` replacing its type; the transition time kept if status holds."""
    result: list[dict[str, Any]] = []
    replaced = False
    for existing in conditions or []:
        if existing.get("type") == new["type"]:
            merged = dict(new)
            if existing.get("status") == new.get("status"):
                merged["lastTransitionTime"] = existing.get(
                    "lastTransitionTime", new["lastTransitionTime"]
                )
            result.append(merged)
            replaced = True
        else:
            result.append(dict(existing))
    if not replaced:
        result.append(dict(new))
    return result


def is_finished(job: Mapping[str, Any]) -> bool:
    """Whether the Job has its terminal condition (Complete or Failed, True)."""
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


def finished_at(job: Mapping[str, Any]) -> str | None:
    """When the Job finished: completionTime, else its Failed condition's transition."""
    status = job.get("status") or {}
    if status.get("completionTime"):
        return str(status["completionTime"])
    for c in status.get("conditions") or []:
        if c.get("type") == "Failed" and c.get("status") == "True":
            return str(c.get("lastTransitionTime"))
    return None


def failed_status(
    status: Mapping[str, Any], *, reason: str, message: str, failed: int, now: datetime
) -> dict[str, Any]:
    """The status patch of a Job that fails for good (no pods left active)."""
    conditions = with_condition(
        status.get("conditions"), condition("FailureTarget", reason, message, now)
    )
    conditions = with_condition(conditions, condition("Failed", reason, message, now))
    return {
        "active": 0,
        "ready": 0,
        "terminating": 0,
        "failed": failed,
        "conditions": conditions,
    }


def succeeded_status(status: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """The status patch of a Job whose pod succeeded (completions 1)."""
    conditions = with_condition(
        status.get("conditions"),
        condition("SuccessCriteriaMet", REASON_COMPLETIONS, MESSAGE_COMPLETIONS, now),
    )
    conditions = with_condition(
        conditions, condition("Complete", REASON_COMPLETIONS, MESSAGE_COMPLETIONS, now)
    )
    return {
        "active": 0,
        "ready": 0,
        "terminating": 0,
        "succeeded": int(status.get("succeeded") or 0) + 1,
        "completionTime": timestamp(now),
        "conditions": conditions,
    }


def suspended_status(status: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """A suspended Job: no pods, the Suspended condition, and no startTime (the deadline
    timer restarts on resume, as in Kubernetes)."""
    return {
        "active": 0,
        "ready": 0,
        "startTime": None,
        "conditions": with_condition(
            status.get("conditions"),
            condition("Suspended", REASON_SUSPENDED, MESSAGE_SUSPENDED, now),
        ),
    }


def resumed_conditions(status: Mapping[str, Any], *, now: datetime) -> list[dict[str, Any]] | None:
    """Conditions after a resume (Suspended turns False), or None if it was never suspended."""
    present = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Suspended"), None
    )
    if present is None or present.get("status") != "True":
        return None
    return with_condition(
        status.get("conditions"),
        condition("Suspended", REASON_RESUMED, MESSAGE_RESUMED, now, status="False"),
    )
