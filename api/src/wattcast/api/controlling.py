"""Suspend, resume and cancel: changes of `spec.suspend` (and the cancelled annotation).

Each change reads the object, checks that the action fits its state, and patches with
the resourceVersion it read (optimistic concurrency); a concurrent change is retried.
Cancelling is suspending for good: a cancelled TrainingJob is REVOKED and cannot be resumed.
TrainingJobs and FleetTrainingJobs are controlled alike (the same annotation, the same
`spec.suspend`); their `ResourceKind` says which phases are final.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from wattcast.api.errors import ApiProblem
from wattcast.api.kube import KubeClient
from wattcast.api.mapping import is_cancelled
from wattcast.api.resources import TRAININGJOB, ResourceKind
from wattcast.crd import constants
from wattcast.crd.kubeapi import KubeApiError

_ATTEMPTS = 3


class Action(StrEnum):
    SUSPEND = "suspend"
    RESUME = "resume"
    CANCEL = "cancel"


def plan(
    obj: dict[str, Any], action: Action, resource: ResourceKind = TRAININGJOB
) -> dict[str, Any] | None:
    """The merge patch that carries out `action` on `obj`, None when it is already done.

    Raises a 409 ApiProblem when the action does not fit the object's state.
    """
    kind = resource.kind
    name = obj.get("metadata", {}).get("name", "")
    phase = (obj.get("status") or {}).get("phase")
    cancelled = is_cancelled(obj)
    suspended = bool((obj.get("spec") or {}).get("suspend"))
    if phase in resource.terminal_phases:
        raise ApiProblem(
            409,
            f"{kind} {name!r} has already finished ({phase}); there is nothing to {action.value}.",
        )
    version = obj.get("metadata", {}).get("resourceVersion")
    metadata: dict[str, Any] = {"resourceVersion": version} if version else {}
    if action is Action.CANCEL:
        if cancelled and suspended:
            return None
        metadata["annotations"] = {constants.ANNOTATION_CANCELLED: "true"}
        return {"metadata": metadata, "spec": {"suspend": True}}
    if cancelled:
        if action is Action.SUSPEND:
            return None
        raise ApiProblem(
            409,
            f"{kind} {name!r} was cancelled and cannot be resumed; submit a new one.",
        )
    if suspended == (action is Action.SUSPEND):
        return None
    return {"metadata": metadata, "spec": {"suspend": action is Action.SUSPEND}}


async def apply(
    kube: KubeClient,
    namespace: str,
    name: str,
    action: Action,
    resource: ResourceKind = TRAININGJOB,
) -> dict[str, Any]:
    """Carry out `action`; returns the object afterwards. Repeating it is harmless."""
    for attempt in range(_ATTEMPTS):
        with kube.errors("read", namespace, name, resource=resource):
            obj = await kube.get(namespace, name, resource=resource)
        patch = plan(obj, action, resource)
        if patch is None:
            return obj
        try:
            return await kube.patch(namespace, name, patch, resource=resource)
        except KubeApiError as err:
            if err.status == 409 and attempt < _ATTEMPTS - 1:
                continue  # changed since we read it: decide again on the new state
            with kube.errors(action.value, namespace, name, resource=resource):
                raise
    raise AssertionError("unreachable")  # pragma: no cover
