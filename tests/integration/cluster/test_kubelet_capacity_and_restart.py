"""Capacity is a hard limit, first come first served; a restarted kubelet fails lost pods."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from kubeletkit import Pods, sandboxes
from kubernetes import client
from testkit import wait_for

from wattcast.devtools.cluster.kubelet import ProcessKubelet


def busy_on(core: client.CoreV1Api, node: str) -> list[str]:
    pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    return [p.metadata.name for p in pods if p.status.phase in ("Pending", "Running")]


def test_capacity_is_never_exceeded_and_the_last_pod_runs_after(
    pods: Pods, devcluster: Any
) -> None:
    capacity = devcluster.capacity
    wait_for("an idle node", lambda: not busy_on(pods.core, "wattcast-dev"))
    names = [pods.create("sleep 3", name=f"c-{i}") for i in range(capacity + 1)]
    last = names[-1]

    def full() -> bool:
        running = [
            n for n in names if (pods.get(n) or {}).get("status", {}).get("phase") == "Running"
        ]
        pod = pods.get(last) or {}
        waiting = any(
            c.get("reason") == "Unschedulable" and "Too many pods" in c.get("message", "")
            for c in pod.get("status", {}).get("conditions") or []
        )
        assert len(running) <= capacity
        return len(running) == capacity and waiting and not pod["spec"].get("nodeName")

    wait_for(f"{capacity} pods running and the last one waiting", full)
    ended = [pods.phase(n, "Succeeded", timeout=90) for n in names]
    finished = [p["status"]["containerStatuses"][0]["state"]["terminated"] for p in ended]
    assert finished[-1]["startedAt"] >= min(f["finishedAt"] for f in finished[:-1])


def test_a_restarted_kubelet_fails_the_pods_it_lost(
    pods: Pods, devcluster: Any, tmp_path: Path
) -> None:
    node = f"restart-{uuid.uuid4().hex[:6]}"

    def kubelet() -> ProcessKubelet:
        return ProcessKubelet(
            devcluster.kubeconfig,
            tmp_path / "kubelet",
            node_name=node,
            capacity=1,
            api_port=devcluster.control_plane.ports["apiserver"],
            ca_file=devcluster.control_plane.ca_file,
        ).start()

    first = kubelet()
    try:
        name = pods.create("sleep 300", nodeName=node)
        pods.phase(name, "Running")
    finally:
        first.stop()
    try:
        assert not sandboxes(pods.namespace)
        # A stopped kubelet writes nothing: the pod still reads Running.
        assert (pods.get(name) or {})["status"]["phase"] == "Running"
        second = kubelet()
        try:
            pod = pods.phase(name, "Failed")
        finally:
            second.stop()
        terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (137, "ContainerStatusUnknown")
    finally:
        pods.core.delete_namespaced_pod(name, pods.namespace, grace_period_seconds=0)
        pods.core.delete_node(node)
