"""Once jobName is set the Job is never recreated: a Job that vanishes before it finished
fails the TrainingJob with JobLost."""

from __future__ import annotations

from operatorkit import K8s, OperatorProcess, condition, wait_for


def test_vanished_job_fails_with_job_lost(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    k8s.create_tj(namespace, "tj-lost")
    wait_for(lambda: k8s.status(namespace, "tj-lost").get("jobName"), what="jobName")
    k8s.patch_tj_status(namespace, "tj-lost", {"phase": "Training", "progress": 31})
    k8s.delete_job(namespace, "tj-lost")
    status = k8s.wait_phase(namespace, "tj-lost", "Failed")
    assert condition(status, "Failed")["reason"] == "JobLost"
    assert "deleted before it finished" in status["message"]
    wait_for(lambda: k8s.job(namespace, "tj-lost") is None, what="the Job to go")
    k8s.wait_handled(namespace, "tj-lost")  # a later event of it handled, then:
    assert k8s.job(namespace, "tj-lost") is None  # never recreated
