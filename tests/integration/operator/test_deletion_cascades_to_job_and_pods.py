"""Deleting a TrainingJob removes its Job and pods through the ownerReference cascade (the
real garbage collector), with no finalizer of ours in the way."""

from __future__ import annotations

from operatorkit import K8s, OperatorProcess, wait_for

CASCADE_S = 120


def test_deletion_cascades_to_job_and_pods(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    k8s.create_tj(namespace, "tj-gone")
    wait_for(lambda: k8s.pods(namespace), what="a pod")
    tj = k8s.tj(namespace, "tj-gone")
    assert tj is not None
    assert not tj["metadata"].get("finalizers")
    k8s.delete_tj(namespace, "tj-gone")
    # The garbage collector deletes the Job, then its pods, and the kubelet stops each pod's
    # process within its grace period: on a loaded machine that takes longer than the
    # default wait (it took over 30 s in a CI run at load ~10).
    wait_for(lambda: k8s.tj(namespace, "tj-gone") is None, what="the TrainingJob to go")
    wait_for(lambda: k8s.jobs(namespace) == [], timeout=CASCADE_S, what="the Job to go")
    wait_for(lambda: k8s.pods(namespace) == [], timeout=CASCADE_S, what="the pods to go")
