"""Submitting a TrainingJob or a FleetTrainingJob so that it is never lost and never made twice.

- 2xx only once the Kubernetes API accepted the object (its answer to the create, or a read
  that finds it after an ambiguous failure).
- The name is deterministic when the client gives one or sends an Idempotency-Key (uuid5 of
  namespace and key), so a retried request meets the first one's object: the same spec
  returns it, a different spec is a 409. Without either, the name is a fresh UUID.

Both kinds share it (`wattcast.api.resources.ResourceKind` names what differs). The key's
derived name is the same for either kind: the two live in different collections.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from wattcast.api.errors import ApiProblem
from wattcast.api.kube import KubeClient
from wattcast.api.mapping import comparable_spec
from wattcast.api.resources import TRAININGJOB, ResourceKind
from wattcast.crd import constants
from wattcast.crd.fieldtypes import ContractModel
from wattcast.crd.kubeapi import KubeApiError

logger = logging.getLogger(__name__)

# uuid5 namespace of names derived from Idempotency-Keys. Never change it: names made by one
# version of the API must be found again by the next.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1b2c4e-4a57-5b8e-9d3a-77e2f0c1a9d4")


@dataclass(frozen=True)
class Submission:
    """The object a submission ended with, and whether this request created it."""

    obj: dict[str, Any]
    created: bool


def job_name(*, namespace: str, name: str | None, idempotency_key: str | None) -> str:
    """The client's name, else one derived from the Idempotency-Key, else a fresh UUID."""
    if name:
        return name
    if idempotency_key:
        return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{namespace}/{idempotency_key}"))
    return str(uuid.uuid4())


def manifest(
    *,
    name: str,
    namespace: str,
    spec: ContractModel,
    idempotency_key: str | None,
    resource: ResourceKind = TRAININGJOB,
) -> dict[str, Any]:
    """The object to create."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": resource.labels(spec),
    }
    if idempotency_key:
        metadata["annotations"] = {constants.ANNOTATION_IDEMPOTENCY_KEY: idempotency_key}
    return {
        "apiVersion": constants.API_VERSION,
        "kind": resource.kind,
        "metadata": metadata,
        "spec": spec.to_json_dict(),
    }


def _same_submission(existing: dict[str, Any], spec: ContractModel, resource: ResourceKind) -> bool:
    theirs = comparable_spec(existing.get("spec") or {}, resource.spec_model)
    return theirs is not None and theirs == comparable_spec(spec, resource.spec_model)


def _conflict(
    name: str, idempotency_key: str | None, given_name: str | None, kind: str
) -> ApiProblem:
    if idempotency_key and not given_name:
        return ApiProblem(
            409,
            f"The Idempotency-Key {idempotency_key!r} was already used for a different "
            f"{kind} ({name!r}). Send a new key for a new submission, or repeat the "
            f"first request unchanged to get its {kind}.",
        )
    return ApiProblem(
        409,
        f"A different {kind} named {name!r} already exists. Choose another name, or "
        f"repeat the first request unchanged to get that {kind}.",
    )


async def submit(
    kube: KubeClient,
    *,
    namespace: str,
    spec: ContractModel,
    name: str | None,
    idempotency_key: str | None,
    resource: ResourceKind = TRAININGJOB,
) -> Submission:
    """Create the object, or return the one this same submission created before."""
    final_name = job_name(namespace=namespace, name=name, idempotency_key=idempotency_key)
    body = manifest(
        name=final_name,
        namespace=namespace,
        spec=spec,
        idempotency_key=idempotency_key,
        resource=resource,
    )
    errors = partial(kube.errors, namespace=namespace, name=final_name, resource=resource)
    try:
        return Submission(await kube.create(namespace, body, resource=resource), created=True)
    except KubeApiError as err:
        first_error = err
    if first_error.status == 409:
        # AlreadyExists: the same submission made it before (a retry), or the name is taken.
        with errors("read"):
            existing = await kube.get(namespace, final_name, resource=resource)
        if _same_submission(existing, spec, resource):
            logger.info("Submission %s/%s replayed", namespace, final_name)
            return Submission(existing, created=False)
        raise _conflict(final_name, idempotency_key, name, resource.kind)
    if first_error.status == 0 or first_error.status >= 500:
        # No answer, or a server error: the create may still have happened. Look once, so a
        # object the server did accept is reported as accepted instead of as a failure.
        found: dict[str, Any] | None
        try:
            found = await kube.get(namespace, final_name, resource=resource)
        except KubeApiError:
            found = None
        if found is not None and _same_submission(found, spec, resource):
            logger.warning(
                "Create of %s %s/%s failed (%s) but it exists: accepted",
                resource.kind,
                namespace,
                final_name,
                first_error,
            )
            return Submission(found, created=True)
    with errors("create"):
        raise first_error
