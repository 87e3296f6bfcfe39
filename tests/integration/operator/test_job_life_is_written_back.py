"""The Job's life is written back to the TrainingJob: running, succeeded, failed, retried."""

from __future__ import annotations

import time

import pytest
from operatorkit import K8s, OperatorProcess, condition, succeeded_message, wait_for

from wattcast.devtools.jobcontroller import JobController


def start(k8s: K8s, jobs: JobController, namespace: str, name: str) -> None:
    k8s.create_tj(namespace, name)
    wait_for(lambda: k8s.status(namespace, name).get("jobName"), what="jobName")
    # The stand-in Job controller starts a pod; the operator marks it Running.
    wait_for(
        lambda: any(
            c["type"] == "Running" and c["status"] == "True"
            for c in k8s.status(namespace, name).get("conditions") or []
        ),
        what="the Running condition",
    )


def test_running_job_keeps_the_trainers_phase_and_success_takes_its_result(
    operator: OperatorProcess, k8s: K8s, jobs: JobController, namespace: str
) -> None:
    start(k8s, jobs, namespace, "tj-ok")
    status = k8s.status(namespace, "tj-ok")
    assert status["phase"] == "Pending"
    assert status["attempts"] == 1
    assert status["startTime"]

    # The trainer reports its own phases; the operator leaves them alone.
    result = succeeded_message()["result"]
    k8s.patch_tj_status(namespace, "tj-ok", {"phase": "Training", "progress": 40})
    time.sleep(0.3)  # the operator sees the change and keeps it
    assert k8s.status(namespace, "tj-ok")["phase"] == "Training"
    k8s.patch_tj_status(namespace, "tj-ok", {"phase": "Saving", "progress": 95, "result": result})
    jobs.succeed(namespace, "tj-ok")
    status = k8s.wait_phase(namespace, "tj-ok", "Succeeded")
    assert status["progress"] == 100
    assert status["result"] == result
    assert status["completionTime"]
    assert condition(status, "Complete")["reason"] == "TrainingSucceeded"
    assert condition(status, "Running")["status"] == "False"
    reasons = [e["reason"] for e in wait_for(lambda: k8s.events(namespace, "tj-ok"))]
    assert "TrainingSucceeded" in reasons


def test_success_without_status_result_reads_the_termination_message(
    operator: OperatorProcess, k8s: K8s, jobs: JobController, namespace: str
) -> None:
    start(k8s, jobs, namespace, "tj-term")
    message = succeeded_message()
    jobs.succeed(namespace, "tj-term", termination=message)
    status = k8s.wait_phase(namespace, "tj-term", "Succeeded")
    assert status["result"] == message["result"]
    assert status["message"] == "model saved"


@pytest.mark.parametrize("reason", ["BackoffLimitExceeded", "DeadlineExceeded", "PodFailurePolicy"])
def test_failed_job_fails_the_trainingjob_with_its_reason_and_the_trainers_message(
    operator: OperatorProcess, k8s: K8s, jobs: JobController, namespace: str, reason: str
) -> None:
    name = f"tj-{reason.lower()}"
    start(k8s, jobs, namespace, name)
    jobs.fail(
        namespace,
        name,
        reason=reason,
        exit_code=2,
        termination={
            "phase": "Failed",
            "reason": "DataInsufficient",
            "message": "only 3 days of data, 14 needed",
        },
    )
    status = k8s.wait_phase(namespace, name, "Failed")
    failed = condition(status, "Failed")
    assert failed["reason"] == reason
    assert status["message"] == "DataInsufficient: only 3 days of data, 14 needed"
    assert failed["message"] == status["message"]
    events = wait_for(lambda: [e for e in k8s.events(namespace, name) if e["type"] == "Warning"])
    assert events[0]["reason"] == reason


def test_retries_are_counted_as_attempts(
    operator: OperatorProcess, k8s: K8s, jobs: JobController, namespace: str
) -> None:
    start(k8s, jobs, namespace, "tj-retry")
    jobs.fail_pod(namespace, "tj-retry", exit_code=1, termination="Traceback: boom")
    # The Job controller starts a second pod; the attempts show it.
    wait_for(lambda: k8s.status(namespace, "tj-retry").get("attempts") == 2, what="2 attempts")
    jobs.fail(namespace, "tj-retry", message="Job has reached the specified backoff limit")
    status = k8s.wait_phase(namespace, "tj-retry", "Failed")
    # A crash's log tail is no termination message of the trainer: the Job's words stand.
    assert status["message"] == "Job has reached the specified backoff limit"
    assert status["attempts"] == 2


def test_finished_trainingjob_keeps_its_phase(
    operator: OperatorProcess, k8s: K8s, jobs: JobController, namespace: str
) -> None:
    start(k8s, jobs, namespace, "tj-final")
    jobs.succeed(namespace, "tj-final", termination=succeeded_message())
    k8s.wait_phase(namespace, "tj-final", "Succeeded")
    # Deleting the finished Job (its TTL, say) leaves the record as it was.
    k8s.delete_job(namespace, "tj-final")
    wait_for(lambda: k8s.job(namespace, "tj-final") is None, what="the Job to go")
    time.sleep(0.5)  # the operator sees the deletion within milliseconds
    assert k8s.status(namespace, "tj-final")["phase"] == "Succeeded"
