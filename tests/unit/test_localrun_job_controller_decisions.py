"""The local runner decides Job outcomes as the Kubernetes Job controller does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from wattcast.devtools.localrun import jobstatus
from wattcast.devtools.localrun.jobstatus import FailureAction, PodFailure

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY: dict[str, Any] = {
    "podFailurePolicy": {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {"containerName": "trainer", "operator": "In", "values": [2]},
            },
            {
                "action": "Ignore",
                "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
            },
        ]
    }
}


def failure(code: int, *conditions: dict[str, str], container: str = "trainer") -> PodFailure:
    return PodFailure("p-1", "ns", {container: code}, conditions)


@pytest.mark.parametrize(
    ("spec", "pod", "action", "index"),
    [
        (POLICY, failure(2), FailureAction.FAIL_JOB, 0),
        (POLICY, failure(1), FailureAction.COUNT, None),
        (POLICY, failure(137), FailureAction.COUNT, None),
        (POLICY, failure(2, container="sidecar"), FailureAction.COUNT, None),
        (
            POLICY,
            failure(1, {"type": "DisruptionTarget", "status": "True"}),
            FailureAction.IGNORE,
            1,
        ),
        (
            POLICY,
            failure(1, {"type": "DisruptionTarget", "status": "False"}),
            FailureAction.COUNT,
            None,
        ),
        # The first matching rule wins: exit code 2 of a disrupted pod still fails the Job.
        (
            POLICY,
            failure(2, {"type": "DisruptionTarget", "status": "True"}),
            FailureAction.FAIL_JOB,
            0,
        ),
        ({}, failure(2), FailureAction.COUNT, None),
        (
            {
                "podFailurePolicy": {
                    "rules": [
                        {"action": "Ignore", "onExitCodes": {"operator": "NotIn", "values": [1]}}
                    ]
                }
            },
            failure(3),
            FailureAction.IGNORE,
            0,
        ),
        (
            {
                "podFailurePolicy": {
                    "rules": [
                        {"action": "Ignore", "onExitCodes": {"operator": "NotIn", "values": [1]}}
                    ]
                }
            },
            failure(1),
            FailureAction.COUNT,
            None,
        ),
    ],
    ids=[
        "exit-2-fails-job",
        "exit-1-counts",
        "killed-counts",
        "other-container",
        "disruption-ignored",
        "condition-false",
        "first-rule-wins",
        "no-policy",
        "notin-matches",
        "notin-excludes",
    ],
)
def test_pod_failure_policy(
    spec: dict[str, Any], pod: PodFailure, action: FailureAction, index: int | None
) -> None:
    decision = jobstatus.decide_failure(spec, pod)
    assert decision.action is action
    assert decision.rule_index == index


def test_fail_job_message_names_container_pod_and_rule() -> None:
    decision = jobstatus.decide_failure(POLICY, failure(2))
    assert decision.message == (
        "Container trainer for pod ns/p-1 failed with exit code 2 matching FailJob rule at index 0"
    )


@pytest.mark.parametrize(
    ("failed", "expected"),
    [(0, 0.0), (1, 10.0), (2, 20.0), (3, 40.0), (6, 320.0), (7, 360.0), (60, 360.0)],
)
def test_retry_delay_doubles_up_to_the_cap(failed: int, expected: float) -> None:
    assert jobstatus.retry_delay(failed, base_seconds=10, max_seconds=360) == expected


@pytest.mark.parametrize(
    ("limit", "failed", "exceeded"),
    [(0, 1, True), (3, 3, False), (3, 4, True), (None, 6, False), (None, 7, True)],
)
def test_backoff_limit_counts_retries(limit: int | None, failed: int, exceeded: bool) -> None:
    spec = {} if limit is None else {"backoffLimit": limit}
    assert jobstatus.backoff_exceeded(spec, failed) is exceeded


def _job(deadline: int | None, started: datetime | None, suspend: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"suspend": suspend}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    status = {} if started is None else {"startTime": jobstatus.timestamp(started)}
    return {"spec": spec, "status": status}


@pytest.mark.parametrize(
    ("job", "exceeded"),
    [
        (_job(60, NOW - timedelta(seconds=61)), True),
        (_job(60, NOW - timedelta(seconds=60)), True),
        (_job(60, NOW - timedelta(seconds=59)), False),
        (_job(None, NOW - timedelta(days=9)), False),
        (_job(60, None), False),
        (_job(60, NOW - timedelta(seconds=61), suspend=True), False),
    ],
    ids=["past", "exactly", "before", "no-deadline", "not-started", "suspended"],
)
def test_deadline_counts_from_start_time(job: dict[str, Any], exceeded: bool) -> None:
    assert jobstatus.deadline_exceeded(job, NOW) is exceeded


def test_failed_status_sets_failure_target_then_failed() -> None:
    patch = jobstatus.failed_status(
        {"conditions": []}, reason="BackoffLimitExceeded", message="m", failed=4, now=NOW
    )
    assert [c["type"] for c in patch["conditions"]] == ["FailureTarget", "Failed"]
    assert all(c["reason"] == "BackoffLimitExceeded" for c in patch["conditions"])
    assert (patch["active"], patch["failed"]) == (0, 4)
    assert jobstatus.is_finished({"status": patch})
    assert jobstatus.finished_at({"status": patch}) == "2026-01-01T12:00:00Z"


def test_succeeded_status_sets_success_criteria_then_complete() -> None:
    patch = jobstatus.succeeded_status({"succeeded": 0}, now=NOW)
    assert [c["type"] for c in patch["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert patch["succeeded"] == 1
    assert patch["completionTime"] == "2026-01-01T12:00:00Z"
    assert jobstatus.is_finished({"status": patch})


def test_suspend_then_resume_flips_the_condition_and_clears_start_time() -> None:
    suspended = jobstatus.suspended_status({"startTime": "x", "active": 1}, now=NOW)
    assert suspended["startTime"] is None
    assert suspended["active"] == 0
    (condition,) = suspended["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "Suspended",
        "True",
        "JobSuspended",
    )
    later = NOW + timedelta(minutes=1)
    resumed = jobstatus.resumed_conditions(suspended, now=later)
    assert resumed is not None
    assert (resumed[0]["status"], resumed[0]["reason"]) == ("False", "JobResumed")
    assert resumed[0]["lastTransitionTime"] == jobstatus.timestamp(later)
    assert jobstatus.resumed_conditions({"conditions": resumed}, now=later) is None
    assert jobstatus.resumed_conditions({}, now=later) is None


def test_with_condition_keeps_transition_time_when_status_holds() -> None:
    first = jobstatus.condition("Suspended", "JobSuspended", "a", NOW)
    again = jobstatus.condition("Suspended", "JobSuspended", "b", NOW + timedelta(hours=1))
    (merged,) = jobstatus.with_condition([first], again)
    assert merged["lastTransitionTime"] == first["lastTransitionTime"]
    assert merged["message"] == "b"
