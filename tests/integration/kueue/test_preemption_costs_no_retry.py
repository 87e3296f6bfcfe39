"""Kueue preempts a running low-priority trainer for a high-priority one (ClusterQueue
`preemption.withinClusterQueue: LowerPriority`): the preempted TrainingJob goes back to Queued,
uses up none of its retries (the Job counts no failure, the attempts stay as they were), and
finishes after Kueue admits it again."""

from __future__ import annotations

from kueuekit import HIGH, LOW, Queues, queued_spec
from operatorkit import K8s, succeeded_message, wait_for


def test_preempted_trainer_keeps_its_retries(
    queues: Queues, k8s: K8s, kueue_namespace: str
) -> None:
    namespace = kueue_namespace
    queues.create(cpu="100m", preemption="LowerPriority")
    k8s.create_tj(namespace, "tj-low", backoffLimit=1, **queued_spec(LOW))
    wait_for(lambda: k8s.running(namespace, "tj-low"), what="tj-low to run")
    (first_pod,) = [p["metadata"]["name"] for p in k8s.job_pods(namespace, "tj-low")]
    before = k8s.status(namespace, "tj-low")
    assert before["attempts"] == 1

    k8s.create_tj(namespace, "tj-high", **queued_spec(HIGH))
    evicted = wait_for(
        lambda: (
            (c := queues.workload_condition("tj-low", "Evicted")) and c["status"] == "True" and c
        ),
        what="Kueue to evict tj-low",
    )
    assert evicted["reason"] == "Preempted"
    k8s.pod_phase(namespace, first_pod, "Gone")
    status = k8s.wait_phase(namespace, "tj-low", "Queued")
    assert status["attempts"] == before["attempts"]
    wait_for(lambda: k8s.running(namespace, "tj-high"), what="tj-high to run")

    k8s.instruct(namespace, "tj-high", status=succeeded_message())
    k8s.wait_phase(namespace, "tj-high", "Succeeded")

    # Readmitted: a new trainer pod, and the retries the preemption did not use.
    wait_for(lambda: k8s.running(namespace, "tj-low"), what="tj-low to run again")
    job = k8s.job(namespace, "tj-low")
    assert job is not None
    assert int(job["status"].get("failed") or 0) == 0
    k8s.instruct(namespace, "tj-low", status=succeeded_message())
    status = k8s.wait_phase(namespace, "tj-low", "Succeeded")
    assert status["attempts"] == before["attempts"]
