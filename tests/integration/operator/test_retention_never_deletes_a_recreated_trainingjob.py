"""Retention deletes a TrainingJob only if it still is the object that finished: the delete
carries its uid as a precondition, so a newer TrainingJob of the same name is never touched
(on the real API server, through the operator's own client)."""

from __future__ import annotations

from kubernetes import client
from operatorkit import K8s, wait_for

from wattcast.operator.kubeclient import KubeClient


async def test_delete_with_an_old_uid_spares_the_new_object(
    k8s: K8s, kube: client.ApiClient, namespace: str
) -> None:
    old = k8s.create_tj(namespace, "tj-reborn")
    k8s.delete_tj(namespace, "tj-reborn")
    wait_for(lambda: k8s.tj(namespace, "tj-reborn") is None, what="the first object to go")
    new = k8s.create_tj(namespace, "tj-reborn")
    assert new["metadata"]["uid"] != old["metadata"]["uid"]

    kube_client = KubeClient(kube)
    assert not await kube_client.delete_trainingjob(namespace, "tj-reborn", old["metadata"]["uid"])
    kept = k8s.tj(namespace, "tj-reborn")
    assert kept is not None
    assert kept["metadata"]["uid"] == new["metadata"]["uid"]
    assert kept["metadata"].get("deletionTimestamp") is None

    # The same call with the current uid deletes it: the precondition was what spared it.
    assert await kube_client.delete_trainingjob(namespace, "tj-reborn", new["metadata"]["uid"])
    wait_for(lambda: k8s.tj(namespace, "tj-reborn") is None, what="the new object to go")
