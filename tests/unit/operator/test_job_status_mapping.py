"""Job status → TrainingJob status (docs/design.md §2): the pure mapping, one transition at a
time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from wattcast.crd import TerminationMessage, TrainingJobStatus, find_condition
from wattcast.operator import status as mapping
from wattcast.operator.status import JobState, observe_job

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
RESULT = {
    "modelPath": "electricity/meter1/versions/1/model.keras",
    "dataPoints": 3000,
    "trainingCompleted": "2026-01-02T03:00:00Z",
}


def job(
    *,
    suspend: bool = False,
    queued: bool = False,
    active: int = 0,
    succeeded: int = 0,
    failed: int = 0,
    conditions: list[dict[str, Any]] | None = None,
    start: str | None = None,
) -> dict[str, Any]:
    labels = {"kueue.x-k8s.io/queue-name": "q"} if queued else {}
    status: dict[str, Any] = {"active": active, "succeeded": succeeded, "failed": failed}
    if start:
        status["startTime"] = start
    if conditions:
        status["conditions"] = conditions
    return {
        "metadata": {"name": "tj1", "labels": labels},
        "spec": {"suspend": suspend},
        "status": status,
    }


def cond(type_: str, reason: str = "", message: str = "") -> dict[str, Any]:
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-01-02T03:00:00Z",
    }


def apply(current: dict[str, Any], change: mapping.StatusChange) -> dict[str, Any]:
    merged = {**current, **change.patch}
    TrainingJobStatus.model_validate(merged)  # every status we write fits the schema
    return merged


def from_job(
    current: dict[str, Any],
    body: dict[str, Any],
    *,
    suspend: bool = False,
    cancelled: bool = False,
    termination: TerminationMessage | None = None,
) -> mapping.StatusChange:
    return mapping.from_job(
        current,
        observe_job(body),
        suspend=suspend,
        cancelled=cancelled,
        termination=termination,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("queued", "suspended", "phase", "condition"),
    [
        (False, False, "Pending", None),
        (True, False, "Queued", "Queued"),
        (False, True, "Suspended", "Suspended"),
        (True, True, "Suspended", "Suspended"),
    ],
    ids=["plain", "kueue", "suspended", "kueue-suspended"],
)
def test_job_created_records_the_job_and_first_phase(
    queued: bool, suspended: bool, phase: str, condition: str | None
) -> None:
    change = mapping.job_created(
        {"phase": "Pending"},
        job_name="tj1",
        adopted=False,
        queued=queued,
        suspended=suspended,
        generation=1,
        now=NOW,
    )
    status = apply({"phase": "Pending"}, change)
    assert status["jobName"] == "tj1"
    assert status["phase"] == phase
    assert status["observedGeneration"] == 1
    created = find_condition(status["conditions"], "JobCreated")
    assert created is not None
    assert (created["status"], created["reason"]) == ("True", "JobCreated")
    if condition:
        assert find_condition(status["conditions"], condition)["status"] == "True"  # type: ignore[index]


def test_adoption_is_recorded_with_its_own_reason() -> None:
    change = mapping.job_created(
        {}, job_name="tj1", adopted=True, queued=False, suspended=False, generation=1, now=NOW
    )
    assert change.patch["conditions"][0]["reason"] == "JobAdopted"
    assert "adopted" in change.message


def test_observe_job_reads_state_and_attempts() -> None:
    assert observe_job(job()).state is JobState.PENDING
    assert observe_job(job(active=1, failed=2)).attempts == 3
    assert observe_job(job(active=1)).state is JobState.RUNNING
    assert observe_job(job(suspend=True, queued=True)).queued
    assert observe_job(job(conditions=[cond("Complete")])).state is JobState.SUCCEEDED
    failed = observe_job(job(conditions=[cond("Failed", "DeadlineExceeded", "too slow")]))
    assert (failed.state, failed.reason, failed.message) == (
        JobState.FAILED,
        "DeadlineExceeded",
        "too slow",
    )
    # A condition that is not True does not count.
    assert observe_job(job(conditions=[{**cond("Complete"), "status": "False"}])).state is (
        JobState.PENDING
    )


def test_queued_job_shows_queued_until_kueue_admits_it() -> None:
    current = {"phase": "Pending", "jobName": "tj1"}
    status = apply(current, from_job(current, job(suspend=True, queued=True)))
    assert status["phase"] == "Queued"
    assert find_condition(status["conditions"], "Queued")["reason"] == "WaitingForAdmission"  # type: ignore[index]
    change = from_job(status, job(queued=True, active=1, start="2026-01-02T03:00:00Z"))
    status = apply(status, change)
    assert (change.old_phase, change.new_phase) == ("Queued", "Pending")
    assert find_condition(status["conditions"], "Queued")["status"] == "False"  # type: ignore[index]
    assert find_condition(status["conditions"], "Queued")["reason"] == "Admitted"  # type: ignore[index]
    assert find_condition(status["conditions"], "Running")["status"] == "True"  # type: ignore[index]
    assert status["startTime"] == "2026-01-02T03:00:00Z"
    assert status["attempts"] == 1


def test_trainer_phases_are_kept_while_the_pod_runs() -> None:
    current = {"phase": "Training", "progress": 55, "jobName": "tj1", "attempts": 1}
    change = from_job(current, job(active=1))
    assert "phase" not in change.patch
    assert "progress" not in change.patch
    assert not change.transition


def test_nothing_changes_when_nothing_happened() -> None:
    current = {"phase": "Pending", "jobName": "tj1"}
    status = apply(current, from_job(current, job(active=1)))
    assert from_job(status, job(active=1)).patch == {}


def test_success_keeps_the_result_the_trainer_wrote() -> None:
    current = {"phase": "Saving", "progress": 97, "jobName": "tj1", "result": RESULT}
    body = job(succeeded=1, conditions=[cond("Complete")])
    change = from_job(current, body)
    status = apply(current, change)
    assert status["phase"] == "Succeeded"
    assert status["progress"] == 100
    assert status["result"] == RESULT
    assert "result" not in change.patch
    assert status["completionTime"] == "2026-01-02T03:00:00Z"
    assert find_condition(status["conditions"], "Complete")["reason"] == "TrainingSucceeded"  # type: ignore[index]
    assert change.event_type == "Normal"


def test_success_takes_the_result_from_the_termination_message() -> None:
    pods = [
        pod_with_message(
            {
                "phase": "Succeeded",
                "reason": "TrainingSucceeded",
                "message": "done",
                "result": RESULT,
            }
        )
    ]
    termination = mapping.termination_message(pods)
    assert termination is not None
    current = {"phase": "Training", "jobName": "tj1"}
    body = job(succeeded=1, conditions=[cond("Complete")])
    assert mapping.needs_termination_message(current, observe_job(body))
    status = apply(current, from_job(current, body, termination=termination))
    assert status["result"] == RESULT
    assert status["message"] == "done"


@pytest.mark.parametrize("reason", ["BackoffLimitExceeded", "DeadlineExceeded", "PodFailurePolicy"])
def test_failure_takes_the_job_reason_and_the_trainer_message(reason: str) -> None:
    termination = TerminationMessage(
        phase="Failed", reason="DataInsufficient", message="only 3 of 14 days"
    )
    current = {"phase": "ProcessingData", "jobName": "tj1"}
    body = job(failed=1, conditions=[cond("Failed", reason, "job says no")])
    change = from_job(current, body, termination=termination)
    status = apply(current, change)
    assert status["phase"] == "Failed"
    assert status["message"] == "DataInsufficient: only 3 of 14 days"
    failed = find_condition(status["conditions"], "Failed")
    assert failed is not None
    assert (failed["reason"], failed["message"]) == (reason, status["message"])
    assert change.event_type == "Warning"
    assert change.reason == reason


def test_failure_without_termination_message_uses_the_job_condition() -> None:
    current = {"phase": "Pending", "jobName": "tj1"}
    body = job(failed=4, conditions=[cond("Failed", "BackoffLimitExceeded", "Job has reached")])
    status = apply(current, from_job(current, body))
    assert status["message"] == "Job has reached"
    assert status["attempts"] == 4


def test_finished_trainingjob_keeps_its_record() -> None:
    current = {"phase": "Succeeded", "jobName": "tj1", "progress": 100}
    assert from_job(current, job(conditions=[cond("Failed", "X")])).patch == {}
    assert mapping.failed(current, reason="JobLost", message="gone", now=NOW).patch == {}
    assert not mapping.needs_termination_message(
        current, observe_job(job(conditions=[cond("Failed")]))
    )


def test_suspend_and_resume() -> None:
    current = {"phase": "Training", "jobName": "tj1", "attempts": 1}
    status = apply(current, from_job(current, job(suspend=True), suspend=True))
    assert status["phase"] == "Suspended"
    assert find_condition(status["conditions"], "Suspended")["reason"] == "Suspended"  # type: ignore[index]
    resumed = from_job(status, job(active=1))
    status = apply(status, resumed)
    assert (resumed.old_phase, resumed.new_phase) == ("Suspended", "Pending")
    assert find_condition(status["conditions"], "Suspended")["status"] == "False"  # type: ignore[index]


def test_cancel_is_a_suspend_with_its_own_reason() -> None:
    current = {"phase": "Pending", "jobName": "tj1"}
    status = apply(current, from_job(current, job(suspend=True), suspend=True, cancelled=True))
    assert find_condition(status["conditions"], "Suspended")["reason"] == "Cancelled"  # type: ignore[index]


def test_resumed_kueue_job_goes_back_to_queued() -> None:
    current = {"phase": "Suspended", "jobName": "tj1"}
    status = apply(current, from_job(current, job(suspend=True, queued=True), suspend=False))
    assert status["phase"] == "Queued"


def test_operator_failure_reasons() -> None:
    change = mapping.failed({"phase": "Training"}, reason="JobLost", message="gone", now=NOW)
    status = apply({"phase": "Training"}, change)
    assert status["phase"] == "Failed"
    assert status["completionTime"] == "2026-01-02T03:04:05Z"
    assert find_condition(status["conditions"], "Failed")["reason"] == "JobLost"  # type: ignore[index]


def pod_with_message(
    message: dict[str, Any] | str, finished: str = "2026-01-02T03:00:00Z"
) -> dict[str, Any]:
    text = message if isinstance(message, str) else json.dumps(message)
    return {
        "status": {
            "containerStatuses": [
                {
                    "name": "trainer",
                    "state": {"terminated": {"message": text, "finishedAt": finished}},
                }
            ]
        }
    }


def test_termination_message_of_the_latest_pod_wins_and_garbage_is_ignored() -> None:
    older = pod_with_message(
        {"phase": "Failed", "reason": "InfluxUnavailable"}, "2026-01-01T00:00:00Z"
    )
    newer = pod_with_message(
        {"phase": "Failed", "reason": "DataInsufficient"}, "2026-01-02T00:00:00Z"
    )
    garbage = pod_with_message("Traceback (most recent call last): ...", "2026-01-03T00:00:00Z")
    found = mapping.termination_message([newer, garbage, older])
    assert found is not None
    assert found.reason == "DataInsufficient"
    assert mapping.termination_message([garbage]) is None
    assert mapping.termination_message([]) is None
