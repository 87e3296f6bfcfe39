"""Why a trainer pod cannot start, read from the pod's status (pure, no I/O).

A training namespace without the InfluxDB token Secret, without the model store claim, or a
trainer image that cannot be pulled leaves the pod waiting: Pending and unschedulable, or its
container waiting with a reason. Kubernetes retries on its own (the pod starts once the thing
is there), so the TrainingJob does not fail; it shows a `Blocked` condition that names what is
missing (`status.pod_blocked`), and the condition clears once the pod runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wattcast.crd import constants

# Container waiting reasons that a retry by the kubelet alone will not mend: something the
# pod needs is missing or wrong. (ContainerCreating and PodInitializing are normal steps; a
# ContainerCreating with a message is a volume the kubelet could not mount.)
BLOCKING_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


@dataclass(frozen=True)
class Blocker:
    """What keeps the trainer pod from starting: the kubelet's or scheduler's reason and words."""

    reason: str
    message: str


def pod_blocker(pod: Mapping[str, Any]) -> Blocker | None:
    """The blocker of a trainer pod, or None when nothing (known) keeps it from starting."""
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            return Blocker("Unschedulable", str(condition.get("message") or ""))
    for container in status.get("containerStatuses") or []:
        if container.get("name") != constants.TRAINER_CONTAINER:
            continue
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = str(waiting.get("reason") or "")
        message = str(waiting.get("message") or "")
        if reason in BLOCKING_REASONS or (reason == "ContainerCreating" and message):
            return Blocker(reason, message)
    return None
