"""Pod status as the process kubelet writes it, and the scheduler's choices."""

from __future__ import annotations

from typing import Any

import pytest

from wattcast.devtools.cluster import scheduling
from wattcast.devtools.cluster.podstatus import (
    ContainerState,
    PodRun,
    has_run,
    pod_status,
    terminated_reason,
    unschedulable,
)


def pod(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u", "generation": 1},
        "spec": {"containers": [{"name": "trainer", "image": "wattcast/trainer:1"}]},
        "status": status,
    }


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def test_a_pod_being_set_up_is_pending_and_not_ready() -> None:
    status = pod_status(pod(), PodRun(start_time="T0"), stamp="T1")
    assert status["phase"] == "Pending"
    assert status["hostIP"] == "127.0.0.1" and status["startTime"] == "T0"
    assert "podIP" not in status
    (container,) = status["containerStatuses"]
    assert container["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert (container["ready"], container["restartCount"], container["image"]) == (
        False,
        0,
        "wattcast/trainer:1",
    )
    assert conditions(status) == {
        "PodReadyToStartContainers": ("False", None),
        "Initialized": ("True", None),
        "ContainersReady": ("False", "ContainersNotReady"),
        "Ready": ("False", "ContainersNotReady"),
        "PodScheduled": ("True", None),
    }
    assert status["observedGeneration"] == 1


def test_a_running_pod_is_ready_with_its_process_as_container() -> None:
    run = PodRun(
        start_time="T0",
        state=ContainerState("running", started_at="T2", container_id="process://42"),
        phase="Running",
        sandbox=True,
    )
    status = pod_status(pod(), run, stamp="T2")
    assert status["phase"] == "Running" and status["podIP"] == "127.0.0.1"
    (container,) = status["containerStatuses"]
    assert container["state"] == {"running": {"startedAt": "T2"}}
    assert container["ready"] and container["started"]
    assert container["containerID"] == "process://42"
    assert all(s == "True" for s, _ in conditions(status).values())


@pytest.mark.parametrize(
    ("code", "phase", "reason", "ready_reason"),
    [(0, "Succeeded", "Completed", "PodCompleted"), (3, "Failed", "Error", "PodFailed")],
    ids=["succeeded", "failed"],
)
def test_an_ended_pod_has_exit_code_reason_and_message(
    code: int, phase: str, reason: str, ready_reason: str
) -> None:
    state = ContainerState(
        "terminated", terminated_reason(code), "bye", code, "T2", "T3", "process://42"
    )
    status = pod_status(
        pod(), PodRun(start_time="T0", state=state, phase=phase, sandbox=True), stamp="T3"
    )
    assert status["phase"] == phase
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert terminated == {
        "exitCode": code,
        "reason": reason,
        "message": "bye",
        "startedAt": "T2",
        "finishedAt": "T3",
        "containerID": "process://42",
    }
    assert conditions(status)["Ready"] == ("False", ready_reason)
    assert conditions(status)["PodReadyToStartContainers"] == ("False", None)


def test_transition_times_hold_while_a_condition_holds() -> None:
    before = pod(
        conditions=[
            {"type": "Initialized", "status": "True", "lastTransitionTime": "T0"},
            {"type": "Ready", "status": "True", "lastTransitionTime": "T0"},
        ]
    )
    status = pod_status(before, PodRun(start_time="T0"), stamp="T9")
    times = {c["type"]: c["lastTransitionTime"] for c in status["conditions"]}
    assert times["Initialized"] == "T0"
    assert times["Ready"] == "T9"


def test_restarts_are_counted_with_the_last_state() -> None:
    last = ContainerState("terminated", "Error", None, 1, "T1", "T2")
    run = PodRun(
        start_time="T0",
        state=ContainerState("waiting", "CrashLoopBackOff", "back-off 10s"),
        last_state=last,
        restart_count=1,
        phase="Running",
        sandbox=True,
    )
    (container,) = pod_status(pod(), run)["containerStatuses"]
    assert container["restartCount"] == 1
    assert container["lastState"]["terminated"]["exitCode"] == 1
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"


def test_only_the_first_container_runs() -> None:
    p = pod()
    p["spec"]["containers"].append({"name": "sidecar", "image": "x"})
    run = PodRun(
        start_time="T0",
        state=ContainerState("running", started_at="T1"),
        phase="Running",
        sandbox=True,
    )
    status = pod_status(p, run)
    assert (
        status["containerStatuses"][1]["state"]["waiting"]["reason"] == "CreateContainerConfigError"
    )
    assert conditions(status)["Ready"] == ("False", "ContainersNotReady")


def test_an_unschedulable_condition_is_written_once() -> None:
    patch = unschedulable(pod(), scheduling.TOO_MANY_PODS, stamp="T1")
    assert patch is not None
    (condition,) = patch["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "PodScheduled",
        "False",
        "Unschedulable",
    )
    assert unschedulable(pod(conditions=patch["conditions"]), scheduling.TOO_MANY_PODS) is None


def test_a_pod_that_ran_is_recognised() -> None:
    assert not has_run(
        pod(containerStatuses=[{"state": {"waiting": {"reason": "ContainerCreating"}}}])
    )
    assert has_run(pod(containerStatuses=[{"state": {"running": {"startedAt": "T"}}}]))


def candidate(name: str, created: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": name, "creationTimestamp": created},
        "spec": spec,
        "status": {"phase": "Pending"},
    }


def test_pods_are_taken_first_come_first_served() -> None:
    pods = [candidate("b", "T1"), candidate("c", "T0"), candidate("a", "T1")]
    assert [p["metadata"]["name"] for p in scheduling.queue_order(pods)] == ["c", "a", "b"]


def test_only_unbound_pending_pods_of_the_default_scheduler_are_taken() -> None:
    assert scheduling.wants_scheduling(candidate("a", "T0"))
    assert not scheduling.wants_scheduling(candidate("a", "T0", nodeName="n"))
    assert not scheduling.wants_scheduling(candidate("a", "T0", schedulerName="other"))
    deleted = candidate("a", "T0")
    deleted["metadata"]["deletionTimestamp"] = "T1"
    assert not scheduling.wants_scheduling(deleted)


def test_node_selectors_and_missing_claims_do_not_fit() -> None:
    labels = {"kubernetes.io/os": "linux"}
    assert (
        scheduling.misfit(
            candidate("a", "T", nodeSelector={"kubernetes.io/os": "linux"}),
            labels,
            lambda n, c: True,
        )
        is None
    )
    assert "selector" in str(
        scheduling.misfit(
            candidate("a", "T", nodeSelector={"gpu": "yes"}), labels, lambda n, c: True
        )
    )
    claim = candidate(
        "a", "T", volumes=[{"name": "m", "persistentVolumeClaim": {"claimName": "models"}}]
    )
    assert (
        scheduling.misfit(claim, labels, lambda n, c: False)
        == '0/1 nodes are available: persistentvolumeclaim "models" not found.'
    )
