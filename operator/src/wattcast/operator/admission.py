"""Kueue's word on a queued Job: the conditions of its Workload, read into the reason and
message a Queued TrainingJob shows (pure functions, no I/O).

Kueue makes one Workload per Job it manages (owned by the Job) and says on it why the Job
waits: `QuotaReserved` False while no quota fits it ("couldn't assign flavors to pod set main:
insufficient quota for cpu ..."), `Evicted` True when it was preempted, `Admitted` False while
admission checks are pending. The operator watches the Workloads of its namespaces (the
Kopf handlers are in handlers.py) and copies that message into the TrainingJob's status while
it is Queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GROUP = "kueue.x-k8s.io"
WORKLOADS = (GROUP, "workloads")
# The conditions that explain a wait, first match wins: an eviction (preemption) is news,
# then a missing quota reservation, then a pending admission.
_WAITING = (("Evicted", "True"), ("QuotaReserved", "False"), ("Admitted", "False"))


@dataclass(frozen=True)
class Admission:
    """Why Kueue has not admitted a Job (yet, or again): its reason and message."""

    reason: str
    message: str


def pending_admission(workload: Mapping[str, Any]) -> Admission | None:
    """What the Workload's conditions say of the wait; None when admitted or silent."""
    conditions = (workload.get("status") or {}).get("conditions") or []
    by_type = {c.get("type"): c for c in conditions}
    admitted = by_type.get("Admitted") or {}
    evicted = by_type.get("Evicted") or {}
    if admitted.get("status") == "True" and evicted.get("status") != "True":
        return None
    for type_, status in _WAITING:
        found = by_type.get(type_)
        if found is not None and found.get("status") == status and found.get("message"):
            return Admission(str(found.get("reason") or type_), str(found["message"]))
    return None


def owner_job(workload: Mapping[str, Any]) -> str | None:
    """The name of the batch Job that owns the Workload, if one does."""
    for ref in (workload.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == "Job" and str(ref.get("apiVersion", "")).startswith("batch/"):
            return str(ref.get("name"))
    return None
