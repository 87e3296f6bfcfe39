"""Making the objects a TrainingJob or a fleet owns besides its Job: a pod identity (its
ServiceAccount, Role and RoleBinding), a fleet's ConfigMap and progress Lease.

A TrainingJob's objects come from `rendering.render_trainer_identity`, a fleet's from
`fleet.rendering`; they are created before the Job, in order (a pod's ServiceAccount must exist
before the pod). Creating is idempotent: a 409 reads
the object and adopts it when it is ours and says what we would have written; anything else of
that name is a conflict the TrainingJob fails on, since its trainer must never run with rights
someone else defined. RBAC's escalation check applies: the operator can grant only rights it
holds itself, which its Role in the chart does (get on trainingjobs, patch on their status;
get and patch on leases).
"""

from __future__ import annotations

from typing import Any

from wattcast.crd import TrainingJob
from wattcast.operator.kubeclient import KubeApiError, KubeClient
from wattcast.operator.rendering import identity_matches, render_trainer_identity


class IdentityConflict(Exception):
    """An object of the identity's name exists and is not this TrainingJob's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IdentityVanished(Exception):
    """An object answered 409 on create, then 404 on read: try again."""


async def ensure_trainer_identity(kube: KubeClient, tj: TrainingJob) -> None:
    """Create (or adopt) the identity objects; raises IdentityConflict, IdentityVanished, or
    KubeApiError for any other failure of the API."""
    await ensure_owned(
        kube,
        tj.metadata.namespace or "",
        tj.metadata.uid or "",
        render_trainer_identity(tj),
        owner="TrainingJob's trainer identity; delete it or pick another TrainingJob name",
    )


async def ensure_owned(
    kube: KubeClient, namespace: str, uid: str, objects: list[dict[str, Any]], *, owner: str
) -> None:
    """Create each object in order, or adopt it on 409 when it is owned by `uid` and says what
    we would have written; `owner` ends the conflict's message ("... is not this <owner>")."""
    for wanted in objects:
        try:
            await kube.create_namespaced(namespace, wanted)
            continue
        except KubeApiError as error:
            if error.status != 409:
                raise
        kind, name = str(wanted["kind"]), str(wanted["metadata"]["name"])
        existing = await kube.read_namespaced(namespace, kind, name)
        if existing is None:
            raise IdentityVanished(f"{kind} {name} existed and vanished")
        if not identity_matches(existing, wanted, uid):
            raise IdentityConflict(
                f"a {kind} named {name} already exists in {namespace} and is not this {owner}"
            )
