"""With a queueName the Job is created suspended with Kueue's label; the TrainingJob shows
Queued until Kueue admits the Job, and the operator never unsuspends it.

There is no Kueue on the test bed: admission is what Kueue does, unsuspending the Job, done
here by the test as the cluster's administrator.
"""

from __future__ import annotations

from operatorkit import K8s, OperatorProcess, condition, wait_for


def admit(k8s: K8s, namespace: str, name: str) -> None:
    """Kueue's admission: unsuspend the Job."""
    k8s.patch_job(namespace, name, {"spec": {"suspend": False}})


def test_kueue_job_stays_queued_until_admitted(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    k8s.create_tj(namespace, "tj-queued", queueName="training", priorityClass="low")
    status = k8s.wait_phase(namespace, "tj-queued", "Queued")
    assert condition(status, "Queued")["reason"] == "WaitingForAdmission"
    job = k8s.job(namespace, "tj-queued")
    assert job is not None
    assert job["spec"]["suspend"] is True
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "training"
    assert job["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] == "low"

    # The Job controller has seen it suspended, and the operator has handled that state:
    # still suspended, no pod, still Queued.
    wait_for(lambda: k8s.job_condition(namespace, "tj-queued", "Suspended"), what="Suspended")
    job = k8s.job(namespace, "tj-queued")
    assert job is not None
    assert job["spec"]["suspend"] is True
    assert k8s.pods(namespace) == []
    assert k8s.status(namespace, "tj-queued")["phase"] == "Queued"

    admit(k8s, namespace, "tj-queued")
    wait_for(
        lambda: condition(k8s.status(namespace, "tj-queued"), "Queued")["status"] == "False",
        what="Queued=False",
    )
    status = k8s.status(namespace, "tj-queued")
    assert status["phase"] == "Pending"
    assert condition(status, "Queued")["reason"] == "Admitted"
    wait_for(lambda: k8s.running(namespace, "tj-queued"), what="Running")


def test_resumed_kueue_job_waits_for_kueue_again(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    k8s.create_tj(namespace, "tj-requeue", queueName="training")
    k8s.wait_phase(namespace, "tj-requeue", "Queued")
    admit(k8s, namespace, "tj-requeue")
    k8s.wait_phase(namespace, "tj-requeue", "Pending")
    k8s.patch_tj(namespace, "tj-requeue", {"spec": {"suspend": True}})
    k8s.wait_phase(namespace, "tj-requeue", "Suspended")
    k8s.patch_tj(namespace, "tj-requeue", {"spec": {"suspend": False}})
    # The operator never unsuspends a Kueue Job: it is queued again until Kueue admits it.
    status = k8s.wait_phase(namespace, "tj-requeue", "Queued")
    assert condition(status, "Suspended")["status"] == "False"
    job = k8s.job(namespace, "tj-requeue")
    assert job is not None
    assert job["spec"]["suspend"] is True
