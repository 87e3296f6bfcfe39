"""The scheduler's part of the process kubelet: which pending pods get its node. Pure.

First come, first served (creationTimestamp, then name) up to the node's free pod slots. A pod
fits when its nodeSelector matches the node's labels and its claims exist. Taints,
tolerations, affinity, resource requests and priorities are not considered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Pod = Mapping[str, Any]


def wants_scheduling(pod: Pod) -> bool:
    """A pod the default scheduler would take: unbound, pending, not being deleted."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    return (
        not spec.get("nodeName")
        and not meta.get("deletionTimestamp")
        and (pod.get("status") or {}).get("phase", "Pending") == "Pending"
        and spec.get("schedulerName", "default-scheduler") == "default-scheduler"
    )


def queue_order(pods: Iterable[Pod]) -> list[Pod]:
    def key(pod: Pod) -> tuple[str, str, str]:
        meta = pod.get("metadata") or {}
        return (
            str(meta.get("creationTimestamp") or ""),
            str(meta.get("namespace")),
            str(meta.get("name")),
        )

    return sorted(pods, key=key)


def misfit(
    pod: Pod, node_labels: Mapping[str, str], claim_exists: Callable[[str, str], bool]
) -> str | None:
    """Why the pod cannot go to the node at all (the scheduler's message), or None."""
    spec = pod.get("spec") or {}
    selector = spec.get("nodeSelector") or {}
    if any(node_labels.get(k) != v for k, v in selector.items()):
        return "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    namespace = str((pod.get("metadata") or {}).get("namespace"))
    for volume in spec.get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim and not claim_exists(namespace, str(claim)):
            return f'0/1 nodes are available: persistentvolumeclaim "{claim}" not found.'
    return None


TOO_MANY_PODS = "0/1 nodes are available: 1 Too many pods."
