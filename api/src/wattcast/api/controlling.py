"""Suspend, resume and cancel: changes of `spec.suspend` (and the cancelled annotation).

Each change reads the TrainingJob, checks that the action fits its state, and patches with
the resourceVersion it read (optimistic concurrency); a concurrent change is retried.
Cancelling is suspending for good: a cancelled TrainingJob is REVOKED and cannot be resumed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from wattcast.api.errors import ApiProblem
from wattcast.api.kube import KubeClient
from wattcast.api.mapping import is_cancelled, phase_of
from wattcast.crd import constants
from wattcast.crd.kubeapi import KubeApiError

_ATTEMPTS = 3


class Action(StrEnum):
    SUSPEND = "suspend"
    RESUME = "resume"
    CANCEL = "cancel"


def plan(obj: dict[str, Any], action: Action) -> dict[str, Any] | None:
    """The merge patch that carries out `action` on `obj`, None when it is already done.

    Raises a 409 ApiProblem when the action does not fit the TrainingJob's state.
    """
    name = obj.get("metadata", {}).get("name", "")
    phase = phase_of(obj)
    cancelled = is_cancelled(obj)
    suspended = bool((obj.get("spec") or {}).get("suspend"))
    if phase is not None and phase.is_terminal:
        raise ApiProblem(
            409,
            f"TrainingJob {name!r} has already finished ({phase.value}); there is nothing "
            f"to {action.value}.",
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
            f"TrainingJob {name!r} was cancelled and cannot be resumed; submit a new one.",
        )
    if suspended == (action is Action.SUSPEND):
        return None
    return {"metadata": metadata, "spec": {"suspend": action is Action.SUSPEND}}


async def apply(kube: KubeClient, namespace: str, name: str, action: Action) -> dict[str, Any]:
    """Carry out `action`; returns the TrainingJob afterwards. Repeating it is harmless."""
    for attempt in range(_ATTEMPTS):
        with kube.errors("read", namespace, name):
            obj = await kube.get(namespace, name)
        patch = plan(obj, action)
        if patch is None:
            return obj
        try:
            return await kube.patch(namespace, name, patch)
        except KubeApiError as err:
            if err.status == 409 and attempt < _ATTEMPTS - 1:
                continue  # changed since we read it: decide again on the new state
            with kube.errors(action.value, namespace, name):
                raise
    raise AssertionError("unreachable")  # pragma: no cover
