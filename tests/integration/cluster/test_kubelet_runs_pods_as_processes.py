"""The process kubelet on the real control plane: a Ready node, pods run, status written."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from kubeletkit import Pods
from kubernetes import client
from testkit import free_port, wait_for

NODE = "wattcast-dev"


def container(pod: dict[str, Any]) -> dict[str, Any]:
    return dict(pod["status"]["containerStatuses"][0])


def conditions(pod: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in pod["status"]["conditions"]}


def test_the_node_is_registered_ready_with_its_lease(
    kube: client.ApiClient, devcluster: Any
) -> None:
    node = client.CoreV1Api(kube).read_node(NODE)
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert ready.status == "True"
    assert node.status.allocatable["pods"] == str(devcluster.capacity)
    assert int(node.status.capacity["cpu"]) >= 1
    assert not any(t.key == "node.kubernetes.io/not-ready" for t in node.spec.taints or [])
    lease = client.CoordinationV1Api(kube).read_namespaced_lease(NODE, "kube-node-lease")
    assert lease.spec.holder_identity == NODE


@pytest.mark.parametrize(
    ("code", "phase", "reason"),
    [(3, "Failed", "Error"), (0, "Succeeded", "Completed")],
    ids=["fails", "succeeds"],
)
def test_a_pod_ends_with_its_exit_code_and_termination_message(
    pods: Pods, code: int, phase: str, reason: str
) -> None:
    name = pods.create(f"echo hi > /dev/termination-log; echo to-the-log; exit {code}")
    pod = pods.phase(name, phase)
    assert pod["spec"]["nodeName"] == NODE
    terminated = container(pod)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"], terminated["message"]) == (
        code,
        reason,
        "hi\n",
    )
    assert terminated["startedAt"] <= terminated["finishedAt"]
    assert container(pod)["containerID"].startswith("process://")
    assert pod["status"]["podIP"] == pod["status"]["hostIP"] == "127.0.0.1"
    assert conditions(pod) == {
        "PodScheduled": "True",
        "Initialized": "True",
        "PodReadyToStartContainers": "False",
        "ContainersReady": "False",
        "Ready": "False",
    }
    assert "to-the-log" in pods.log(name)


def test_a_running_pod_is_ready(pods: Pods) -> None:
    name = pods.create("sleep 300")
    pod = pods.phase(name, "Running")
    assert container(pod)["ready"] and "running" in container(pod)["state"]
    assert conditions(pod)["Ready"] == "True"


def test_a_failed_pod_without_message_falls_back_to_its_log(pods: Pods) -> None:
    name = pods.create(
        "echo the reason >&2; exit 1",
        container={"terminationMessagePolicy": "FallbackToLogsOnError"},
    )
    pod = pods.phase(name, "Failed")
    assert container(pod)["state"]["terminated"]["message"] == "the reason"


def test_deletion_sends_sigterm_then_the_pod_goes(pods: Pods) -> None:
    name = pods.create("trap 'echo got-term; exit 0' TERM; while true; do sleep 0.1; done")
    pods.phase(name, "Running")
    pods.core.delete_namespaced_pod(name, pods.namespace)
    pods.gone(name)
    assert "got-term" in pods.log(name)


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(pods: Pods) -> None:
    name = pods.create("trap '' TERM; echo started; while true; do sleep 0.1; done", grace=1)
    pods.phase(name, "Running")
    wait_for("the process to run", lambda: "started" in pods.log(name))
    pods.core.delete_namespaced_pod(name, pods.namespace)
    pods.gone(name, timeout=20)


def test_a_missing_secret_waits_then_the_pod_runs(pods: Pods) -> None:
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "late", "key": "token"}}}]
    name = pods.create('printf "$TOKEN" > /dev/termination-log', container={"env": env})

    def waiting() -> dict[str, Any] | None:
        pod = pods.get(name)
        statuses = (pod or {}).get("status", {}).get("containerStatuses") or [{}]
        return statuses[0].get("state", {}).get("waiting")

    state = wait_for("CreateContainerConfigError", waiting)
    assert state == {"reason": "CreateContainerConfigError", "message": 'secret "late" not found'}
    secret = {"metadata": {"name": "late"}, "data": {"token": base64.b64encode(b"t0k").decode()}}
    pods.core.create_namespaced_secret(pods.namespace, secret)
    pod = pods.phase(name, "Succeeded")
    assert container(pod)["state"]["terminated"]["message"] == "t0k"


def test_env_config_maps_and_the_downward_api_reach_the_process(pods: Pods) -> None:
    pods.core.create_namespaced_config_map(
        pods.namespace,
        {"metadata": {"name": "settings"}, "data": {"level": "debug", "f.txt": "file"}},
    )
    env = [
        {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "level"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]
    script = (
        'echo "$LEVEL $POD $NS $NODE $(hostname)" > /dev/termination-log; '
        "cat /etc/settings/f.txt >> /dev/termination-log"
    )
    name = pods.create(
        script,
        name="env-pod",
        container={
            "env": env,
            "volumeMounts": [{"name": "settings", "mountPath": "/etc/settings"}],
        },
        volumes=[{"name": "settings", "configMap": {"name": "settings"}}],
    )
    pod = pods.phase(name, "Succeeded")
    message = container(pod)["state"]["terminated"]["message"]
    assert message == f"debug env-pod {pods.namespace} {NODE} env-pod\nfile"


def test_restart_policy_always_restarts_and_counts(pods: Pods) -> None:
    name = pods.create("echo run; exit 1", restart="Always")

    def restarted() -> dict[str, Any] | None:
        pod = pods.get(name)
        statuses = (pod or {}).get("status", {}).get("containerStatuses") or [{}]
        return pod if statuses[0].get("restartCount", 0) >= 2 else None

    pod = wait_for("two restarts", restarted)
    assert pod["status"]["phase"] == "Running"
    assert container(pod)["lastState"]["terminated"]["exitCode"] == 1
    pods.core.delete_namespaced_pod(name, pods.namespace)
    pods.gone(name)


def test_a_readiness_probe_decides_ready(pods: Pods) -> None:
    port = free_port()
    probe = {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}
    serving = {"ports": [{"name": "http", "containerPort": port}], "readinessProbe": probe}
    name = pods.create(
        f"sleep 1; exec python -m http.server {port} --bind 127.0.0.1", container=serving
    )
    pods.phase(name, "Running")
    wait_for(
        "Ready",
        lambda: conditions(pods.get(name) or {"status": {"conditions": []}}).get("Ready") == "True",
    )

    silent = {"readinessProbe": {"tcpSocket": {"port": free_port()}, "periodSeconds": 1}}
    quiet = pods.create("sleep 300", container=silent)
    pod = pods.phase(quiet, "Running")
    # Running, but not ready: its probe never passes.
    assert conditions(pod)["Ready"] == "False"
    assert not container(pod)["ready"]
