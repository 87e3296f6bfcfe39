"""Two TrainingJobs with the chart's WorkloadPriorityClasses wait in one LocalQueue whose quota
fits one at a time: Kueue admits the higher priority first although it came second, and the
lower one only after the first has finished."""

from __future__ import annotations

from kueuekit import HIGH, LOW, Queues, queued_spec
from operatorkit import K8s, succeeded_message, wait_for


def test_higher_priority_is_admitted_first(queues: Queues, k8s: K8s, kueue_namespace: str) -> None:
    namespace = kueue_namespace
    queues.create(cpu="0")
    k8s.create_tj(namespace, "tj-low", **queued_spec(LOW))
    k8s.create_tj(namespace, "tj-high", **queued_spec(HIGH))
    for name in ("tj-low", "tj-high"):
        k8s.wait_phase(namespace, name, "Queued")
        wait_for(
            lambda name=name: queues.workload_condition(name, "QuotaReserved"),
            what=f"{name}'s Workload to be pending",
        )
    # Kueue took the priority classes from the Job's label.
    assert (queues.workload("tj-low") or {})["spec"]["priority"] == 100
    assert (queues.workload("tj-high") or {})["spec"]["priority"] == 1000

    queues.set_quota(cpu="100m")  # room for one trainer
    wait_for(lambda: k8s.running(namespace, "tj-high"), what="tj-high to run")
    low = k8s.job(namespace, "tj-low")
    assert low is not None
    assert low["spec"]["suspend"] is True
    assert k8s.status(namespace, "tj-low")["phase"] == "Queued"

    k8s.instruct(namespace, "tj-high", status=succeeded_message())
    k8s.wait_phase(namespace, "tj-high", "Succeeded")
    wait_for(lambda: k8s.running(namespace, "tj-low"), what="tj-low to run after tj-high")
    k8s.instruct(namespace, "tj-low", status=succeeded_message())
    k8s.wait_phase(namespace, "tj-low", "Succeeded")
