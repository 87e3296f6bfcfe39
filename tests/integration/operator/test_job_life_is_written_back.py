"""The Job's life is written back to the TrainingJob: running, succeeded, failed, retried.

The trainer double ends each pod as the test instructs; the real Job controller decides what
becomes of the Job (Complete, podFailurePolicy, backoffLimit, activeDeadlineSeconds).
"""

from __future__ import annotations

from typing import Any

from operatorkit import K8s, OperatorProcess, condition, succeeded_message, wait_for

PERMANENT = {
    "phase": "Failed",
    "reason": "DataInsufficient",
    "message": "only 3 days of data, 14 needed",
}


def start(k8s: K8s, namespace: str, name: str, **spec: Any) -> None:
    k8s.create_tj(namespace, name, **spec)
    wait_for(lambda: k8s.status(namespace, name).get("jobName"), what="jobName")
    # The real Job controller makes a pod; the operator marks the TrainingJob Running.
    wait_for(lambda: k8s.running(namespace, name), what="the Running condition")


def warning_reasons(k8s: K8s, namespace: str, name: str) -> list[str]:
    events = wait_for(lambda: [e for e in k8s.events(namespace, name) if e["type"] == "Warning"])
    return [e["reason"] for e in events]


def test_running_job_keeps_the_trainers_phase_and_success_takes_its_result(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    start(k8s, namespace, "tj-ok")
    status = k8s.status(namespace, "tj-ok")
    assert status["phase"] == "Pending"
    assert status["attempts"] == 1
    assert status["startTime"]

    # The trainer reports its own phases; the operator leaves them alone.
    result = succeeded_message()["result"]
    k8s.patch_tj_status(namespace, "tj-ok", {"phase": "Training", "progress": 40})
    # The operator has seen the trainer's phase (its gauge counts it) and keeps it.
    wait_for(
        lambda: 'wattcast_trainingjobs{phase="Training"} 1.0' in operator.metrics(),
        what="the operator to see Training",
    )
    assert k8s.status(namespace, "tj-ok")["phase"] == "Training"
    k8s.instruct(namespace, "tj-ok", status={"phase": "Saving", "progress": 95, "result": result})
    status = k8s.wait_phase(namespace, "tj-ok", "Succeeded")
    assert status["progress"] == 100
    assert status["result"] == result
    assert status["completionTime"]
    assert condition(status, "Complete")["reason"] == "TrainingSucceeded"
    assert condition(status, "Running")["status"] == "False"
    # Kopf posts its Events after the status patch, and the Job (of the same name) has its own:
    # wait for the operator's, not for the first Event of the name.
    wait_for(
        lambda: any(e["reason"] == "TrainingSucceeded" for e in k8s.events(namespace, "tj-ok")),
        what="the TrainingSucceeded Event",
    )


def test_success_without_status_result_reads_the_termination_message(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    start(k8s, namespace, "tj-term")
    message = succeeded_message()
    k8s.instruct(namespace, "tj-term", termination=message)
    status = k8s.wait_phase(namespace, "tj-term", "Succeeded")
    assert status["result"] == message["result"]
    assert status["message"] == "model saved"


def test_permanent_error_fails_at_once_by_the_pod_failure_policy(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    start(k8s, namespace, "tj-permanent", backoffLimit=3)
    k8s.instruct(namespace, "tj-permanent", exit_code=2, termination=PERMANENT)
    status = k8s.wait_phase(namespace, "tj-permanent", "Failed")
    failed = condition(status, "Failed")
    assert failed["reason"] == "PodFailurePolicy"
    assert status["message"] == "DataInsufficient: only 3 days of data, 14 needed"
    assert failed["message"] == status["message"]
    assert status["attempts"] == 1  # no retry despite backoffLimit 3
    assert warning_reasons(k8s, namespace, "tj-permanent")[0] == "PodFailurePolicy"


def test_exhausted_backoff_limit_fails_with_the_trainers_message(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    start(k8s, namespace, "tj-backoff", backoffLimit=0)
    k8s.instruct(namespace, "tj-backoff", exit_code=1, termination=PERMANENT)
    status = k8s.wait_phase(namespace, "tj-backoff", "Failed")
    assert condition(status, "Failed")["reason"] == "BackoffLimitExceeded"
    assert status["message"] == "DataInsufficient: only 3 days of data, 14 needed"
    assert warning_reasons(k8s, namespace, "tj-backoff")[0] == "BackoffLimitExceeded"


def test_deadline_stops_the_trainer_and_fails_with_the_jobs_words(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    # The double is never told to end: the Job controller stops it at the deadline.
    start(k8s, namespace, "tj-deadline", activeDeadlineSeconds=3)
    status = k8s.wait_phase(namespace, "tj-deadline", "Failed")
    failed = condition(status, "Failed")
    assert failed["reason"] == "DeadlineExceeded"
    assert status["message"] == "Job was active longer than specified deadline"
    assert warning_reasons(k8s, namespace, "tj-deadline")[0] == "DeadlineExceeded"


def test_retries_are_counted_as_attempts(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    start(k8s, namespace, "tj-retry", backoffLimit=1)
    k8s.instruct(namespace, "tj-retry", exit_code=1, termination="Traceback: boom")
    # The Job controller starts a second pod (after its 10 s backoff); the attempts show it.
    wait_for(
        lambda: k8s.status(namespace, "tj-retry").get("attempts") == 2,
        timeout=60,
        what="2 attempts",
    )
    k8s.instruct(namespace, "tj-retry", exit_code=1, termination="Traceback: boom again")
    status = k8s.wait_phase(namespace, "tj-retry", "Failed")
    # A crash's log tail is no termination message of the trainer: the Job's words stand.
    assert status["message"] == "Job has reached the specified backoff limit"
    assert condition(status, "Failed")["reason"] == "BackoffLimitExceeded"
    assert status["attempts"] == 2


def test_finished_trainingjob_keeps_its_phase(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    start(k8s, namespace, "tj-final")
    k8s.instruct(namespace, "tj-final", termination=succeeded_message())
    k8s.wait_phase(namespace, "tj-final", "Succeeded")
    # Deleting the finished Job (its TTL, say) leaves the record as it was.
    k8s.delete_job(namespace, "tj-final")
    wait_for(lambda: k8s.job(namespace, "tj-final") is None, what="the Job to go")
    # Barriers: the operator says it saw the Job go, and has handled a later event of the
    # TrainingJob; then the record is as it was, and no Job came back.
    wait_for(
        lambda: "Job tj-final was deleted after the TrainingJob finished" in operator.log(),
        what="the operator to see the Job go",
    )
    k8s.wait_handled(namespace, "tj-final")
    assert k8s.status(namespace, "tj-final")["phase"] == "Succeeded"
    assert k8s.job(namespace, "tj-final") is None
