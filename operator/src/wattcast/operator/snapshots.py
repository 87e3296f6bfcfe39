"""What the handlers read of a TrainingJob and of a Job, as the watch last showed them.

Kopf's two indexes (`handlers.trainingjobs`, `handlers.jobs`) keep one entry per object, keyed
by (namespace, name): a `Snapshot` of each TrainingJob and the few fields of each Job that the
status mapping reads (`job_summary`). Both are plain values built from the watched body, so
an index is a mirror of the API server and nothing more. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from wattcast.crd import constants

Key = tuple[str, str]
V = TypeVar("V")


@dataclass(frozen=True)
class Snapshot:
    """What the handlers need of a TrainingJob, as the watch (or a write's answer) showed it."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    suspend: bool
    cancelled: bool
    deleting: bool
    queued: bool
    status: Mapping[str, Any]

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @property
    def ref(self) -> dict[str, Any]:
        """Enough of the object to post Kubernetes Events about it."""
        return {
            "apiVersion": constants.API_VERSION,
            "kind": constants.KIND,
            "metadata": {"name": self.name, "namespace": self.namespace, "uid": self.uid},
        }

    @property
    def phase(self) -> str | None:
        return cast("str | None", self.status.get("phase"))

    @property
    def job_name(self) -> str | None:
        return cast("str | None", self.status.get("jobName")) or None

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Snapshot:
        meta = body.get("metadata") or {}
        spec = body.get("spec") or {}
        annotations = meta.get("annotations") or {}
        return cls(
            namespace=meta.get("namespace", ""),
            name=meta.get("name", ""),
            uid=meta.get("uid", ""),
            resource_version=str(meta.get("resourceVersion", "")),
            suspend=bool(spec.get("suspend")),
            cancelled=annotations.get(constants.ANNOTATION_CANCELLED) == "true",
            deleting=meta.get("deletionTimestamp") is not None,
            queued=spec.get("queueName") is not None,
            status=dict(body.get("status") or {}),
        )


def job_summary(body: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a Job the handlers read (`status.observe_job`, ownership, suspend)."""
    meta = body.get("metadata") or {}
    return {
        "metadata": {
            "name": meta.get("name", ""),
            "labels": dict(meta.get("labels") or {}),
            "ownerReferences": list(meta.get("ownerReferences") or []),
        },
        "spec": {"suspend": bool((body.get("spec") or {}).get("suspend"))},
        "status": dict(body.get("status") or {}),
    }


def owning_trainingjob(job: Mapping[str, Any]) -> tuple[str, str] | None:
    """(name, uid) of the TrainingJob that is the Job's controller, or None."""
    for ref in (job.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == constants.KIND:
            return str(ref.get("name", "")), str(ref.get("uid", ""))
    return None


def lookup(index: Mapping[Key, Iterable[V]], key: Key) -> V | None:
    """The one value a Kopf index keeps under `key`, or None when it has none."""
    store = index.get(key)
    return next(iter(store), None) if store is not None else None
