"""Helpers of the Kueue tests (imported by conftest.py and the tests).

The LocalQueue and the WorkloadPriorityClasses come from the chart (charts/wattcast's
kueue.yaml, values `kueue.*`), rendered by helm and applied; the ResourceFlavor and the
ClusterQueue are the cluster administrator's, so the tests write them (Kueue's v1beta2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wattcast.devtools.cluster.access import apply
from wattcast.devtools.cluster.chart import render_chart

GROUP = "kueue.x-k8s.io"
VERSION = "v1beta2"
FLAVOR = "wattcast-default"
LOCAL_QUEUE = "training"
# The chart's WorkloadPriorityClasses of these tests (cluster-scoped, the same in every test).
PRIORITY_CLASSES = [
    {"name": "wattcast-test-low", "value": 100, "description": "Retraining that may wait."},
    {"name": "wattcast-test-high", "value": 1000},
]
LOW, HIGH = (c["name"] for c in PRIORITY_CLASSES)
# What each trainer pod asks for (Kueue counts requests against the ClusterQueue's quota).
REQUESTS = {"cpu": "100m", "memory": "64Mi"}


class Queues:
    """A test's ClusterQueue (its namespace only) and the chart's Kueue objects in it."""

    def __init__(self, api: client.ApiClient, kubeconfig: Path, namespace: str) -> None:
        self.api = api
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.cluster_queue = f"cq-{namespace}"
        self.custom = client.CustomObjectsApi(api)

    def create(self, *, cpu: str, memory: str = "1Gi", preemption: str | None = None) -> None:
        """The ResourceFlavor, the ClusterQueue with this quota, and the chart's objects."""
        flavor = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ResourceFlavor",
            "metadata": {"name": FLAVOR},
        }
        spec: dict[str, Any] = {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": self.namespace}},
            "resourceGroups": [
                {
                    "coveredResources": ["cpu", "memory"],
                    "flavors": [{"name": FLAVOR, "resources": quota(cpu, memory)}],
                }
            ],
        }
        if preemption is not None:
            spec["preemption"] = {"withinClusterQueue": preemption}
        queue = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ClusterQueue",
            "metadata": {"name": self.cluster_queue},
            "spec": spec,
        }
        apply(self.kubeconfig, [flavor, queue])
        apply(self.kubeconfig, self.chart_objects())

    def chart_objects(self) -> list[dict[str, Any]]:
        """The chart's LocalQueue (in this namespace) and WorkloadPriorityClasses."""
        values = {
            "trainingNamespaces": [self.namespace],
            "kueue": {
                "localQueues": [{"name": LOCAL_QUEUE, "clusterQueue": self.cluster_queue}],
                "workloadPriorityClasses": PRIORITY_CLASSES,
            },
        }
        return [doc for doc in render_chart(values) if doc["apiVersion"].startswith(f"{GROUP}/")]

    def set_quota(self, *, cpu: str, memory: str = "1Gi") -> None:
        """Change the ClusterQueue's nominal quota (as its administrator would)."""
        queue = self.custom.get_cluster_custom_object(
            GROUP, VERSION, "clusterqueues", self.cluster_queue
        )
        groups = queue["spec"]["resourceGroups"]
        groups[0]["flavors"][0]["resources"] = quota(cpu, memory)
        # A merge patch of the spec, not a replace: Kueue writes the ClusterQueue's status all
        # the while, so a read-modify-replace would meet 409 Conflict.
        self.custom.patch_cluster_custom_object(
            GROUP,
            VERSION,
            "clusterqueues",
            self.cluster_queue,
            {"spec": {"resourceGroups": groups}},
        )

    def workload(self, job_name: str) -> dict[str, Any] | None:
        """The Workload Kueue made for Job `job_name` (owned by it), if any."""
        listed = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "workloads"
        )
        for workload in listed["items"]:
            owners = workload["metadata"].get("ownerReferences") or []
            if any(o["kind"] == "Job" and o["name"] == job_name for o in owners):
                return dict(workload)
        return None

    def workload_condition(self, job_name: str, type_: str) -> dict[str, Any] | None:
        workload = self.workload(job_name) or {}
        conditions = (workload.get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == type_), None)

    def delete(self) -> None:
        """Remove the ClusterQueue (the namespace's deletion takes the LocalQueue)."""
        try:
            self.custom.delete_cluster_custom_object(
                GROUP, VERSION, "clusterqueues", self.cluster_queue
            )
        except ApiException as error:
            if error.status != 404:
                raise


def quota(cpu: str, memory: str) -> list[dict[str, str]]:
    return [{"name": "cpu", "nominalQuota": cpu}, {"name": "memory", "nominalQuota": memory}]


def queued_spec(priority_class: str | None = None) -> dict[str, Any]:
    """The spec fields of a TrainingJob in the chart's LocalQueue, with requests to count."""
    spec: dict[str, Any] = {"queueName": LOCAL_QUEUE, "resources": {"requests": REQUESTS}}
    if priority_class is not None:
        spec["priorityClass"] = priority_class
    return spec
