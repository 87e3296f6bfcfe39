"""A TrainingJob in a LocalQueue whose ClusterQueue has no quota stays Queued, and `kubectl get
tj` says why in Kueue's words; once the administrator adds quota, Kueue admits the Job and the
TrainingJob runs to Succeeded."""

from __future__ import annotations

from pathlib import Path

from kueuekit import Queues, queued_spec
from operatorkit import K8s, condition, succeeded_message, wait_for

from wattcast.devtools.cluster.access import kubectl

NAME = "tj-quota"


def test_trainingjob_waits_for_quota_then_succeeds(
    queues: Queues, k8s: K8s, kueue_namespace: str, kubeconfig: Path
) -> None:
    namespace = kueue_namespace
    queues.create(cpu="0")
    k8s.create_tj(namespace, NAME, **queued_spec())

    # Kueue made a Workload for the Job and cannot reserve quota for it.
    reserved = wait_for(
        lambda: queues.workload_condition(NAME, "QuotaReserved"), what="QuotaReserved"
    )
    assert reserved["status"] == "False"
    assert "insufficient quota" in reserved["message"]

    # The TrainingJob is Queued with Kueue's reason and message, and kubectl shows them.
    status = wait_for(
        lambda: (s := k8s.status(namespace, NAME)).get("message") == reserved["message"] and s,
        what="Kueue's message in the status",
    )
    assert status["phase"] == "Queued"
    queued = condition(status, "Queued")
    assert queued["status"] == "True"
    assert queued["reason"] == reserved["reason"]
    assert queued["message"] == reserved["message"]
    shown = kubectl(kubeconfig, "get", "tj", NAME, "-n", namespace, "-o", "wide")
    header, row = shown.splitlines()
    assert header.split()[:3] == ["NAME", "METER", "TYPE"]
    assert row.split()[3] == "Queued"
    assert "insufficient quota" in row

    job = k8s.job(namespace, NAME)
    assert job is not None
    assert job["spec"]["suspend"] is True
    assert k8s.pods(namespace) == []

    queues.set_quota(cpu="1")
    wait_for(lambda: k8s.running(namespace, NAME), what="Running after quota was added")
    admitted = queues.workload_condition(NAME, "Admitted")
    assert admitted is not None
    assert admitted["status"] == "True"
    assert condition(k8s.status(namespace, NAME), "Queued")["status"] == "False"

    k8s.instruct(namespace, NAME, status=succeeded_message())
    status = k8s.wait_phase(namespace, NAME, "Succeeded")
    assert status["attempts"] == 1
