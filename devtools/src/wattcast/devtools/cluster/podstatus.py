"""Pod status as the kubelet writes it (pods/status), built from what it knows of a run. Pure.

The conditions follow the kubelet's rules: PodReadyToStartContainers (the "sandbox" is up once
the volumes are set up), Initialized (no init containers: True), ContainersReady and Ready
(ready: the process runs and its readiness probe, if any, passes; on a terminal pod False with
reason PodCompleted or PodFailed), PodScheduled kept True. A condition keeps its
lastTransitionTime while its status holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from wattcast.devtools.cluster.environment import POD_IP

TERMINAL: Final = ("Succeeded", "Failed")
ONLY_FIRST: Final = "the process kubelet runs only a pod's first container"


def now() -> str:
    """A timestamp as Kubernetes writes one (seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ContainerState:
    """A container's `state` (or `lastState`)."""

    kind: Literal["waiting", "running", "terminated"]
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        if self.kind == "waiting":
            body: dict[str, Any] = {"reason": self.reason}
            if self.message:
                body["message"] = self.message
            return {"waiting": body}
        if self.kind == "running":
            return {"running": {"startedAt": self.started_at}}
        body = {
            "exitCode": self.exit_code,
            "reason": self.reason,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
        }
        if self.message:
            body["message"] = self.message
        if self.container_id:
            body["containerID"] = self.container_id
        return {"terminated": body}


def terminated_reason(exit_code: int) -> str:
    """The runtime's reason for an ended container (never OOMKilled: no memory limits here)."""
    return "Completed" if exit_code == 0 else "Error"


@dataclass
class PodRun:
    """What the kubelet knows of one pod it runs (its first container)."""

    start_time: str
    state: ContainerState = field(
        default_factory=lambda: ContainerState("waiting", "ContainerCreating")
    )
    last_state: ContainerState | None = None
    restart_count: int = 0
    phase: str = "Pending"
    sandbox: bool = False  # volumes set up: PodReadyToStartContainers
    ready: bool = True  # the readiness probe's verdict while the container runs


def _conditions(
    pod: Mapping[str, Any], run: PodRun, unready: list[str], stamp: str
) -> list[dict[str, Any]]:
    terminal = run.phase in TERMINAL
    wanted: list[tuple[str, str, str | None, str | None]] = [
        (
            "PodReadyToStartContainers",
            "True" if run.sandbox and not terminal else "False",
            None,
            None,
        ),
        ("Initialized", "True", None, None),
    ]
    if terminal:
        ended = "PodCompleted" if run.phase == "Succeeded" else "PodFailed"
        ready: tuple[str, str | None, str | None] = ("False", ended, None)
    elif unready:
        ready = (
            "False",
            "ContainersNotReady",
            f"containers with unready status: [{' '.join(unready)}]",
        )
    else:
        ready = ("True", None, None)
    wanted += [("ContainersReady", *ready), ("Ready", *ready), ("PodScheduled", "True", None, None)]
    old = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or []}
    generation = (pod.get("metadata") or {}).get("generation")
    conditions = []
    for kind, status, reason, message in wanted:
        previous = old.get(kind) or {}
        same = previous.get("status") == status
        condition: dict[str, Any] = {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": previous.get("lastTransitionTime") if same else stamp,
            "reason": reason,
            "message": message,
        }
        if generation is not None:
            condition["observedGeneration"] = generation
        conditions.append(condition)
    return conditions


def pod_status(pod: Mapping[str, Any], run: PodRun, *, stamp: str | None = None) -> dict[str, Any]:
    """The pod's status (for the pods/status subresource) for this run."""
    stamp = stamp or now()
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    statuses = []
    unready: list[str] = []
    for index, container in enumerate(containers):
        name = str(container.get("name"))
        image = str(container.get("image") or "")
        if index == 0:
            state, last, restarts = run.state, run.last_state, run.restart_count
        else:
            state, last, restarts = (
                ContainerState("waiting", "CreateContainerConfigError", ONLY_FIRST),
                None,
                0,
            )
        running = state.kind == "running"
        ready = running and (run.ready if index == 0 else False)
        if not ready:
            unready.append(name)
        status: dict[str, Any] = {
            "name": name,
            "state": state.to_api(),
            "lastState": last.to_api() if last else {},
            "ready": ready,
            "started": running,
            "restartCount": restarts,
            "image": image,
            "imageID": image if state.container_id else "",
        }
        if state.container_id:
            status["containerID"] = state.container_id
        statuses.append(status)
    body: dict[str, Any] = {
        "phase": run.phase,
        "hostIP": POD_IP,
        "hostIPs": [{"ip": POD_IP}],
        "startTime": run.start_time,
        "conditions": _conditions(pod, run, unready, stamp),
        "containerStatuses": statuses,
    }
    if run.sandbox:
        body["podIP"] = POD_IP
        body["podIPs"] = [{"ip": POD_IP}]
    generation = (pod.get("metadata") or {}).get("generation")
    if generation is not None:
        body["observedGeneration"] = generation
    return body


def unschedulable(
    pod: Mapping[str, Any], message: str, *, stamp: str | None = None
) -> dict[str, Any] | None:
    """The scheduler's PodScheduled=False condition, or None when the pod already has it."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("reason") == "Unschedulable"
            and condition.get("message") == message
        ):
            return None
    return {
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastProbeTime": None,
                "lastTransitionTime": stamp or now(),
            }
        ]
    }


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL


def has_run(pod: Mapping[str, Any]) -> bool:
    """Whether a container of this pod ever started (by this kubelet or an earlier one)."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        state = status.get("state") or {}
        if "running" in state or "terminated" in state or status.get("lastState"):
            return True
    return False
