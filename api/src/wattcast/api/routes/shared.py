"""What the /v1 routes of every kind share: a create answered 201 with Location (200 for a
replay), filters as a Kubernetes field selector (the CRDs' selectable fields, so the API server
filters), and one page through limit/continue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import Response, status

from wattcast.api.kube import KubeClient
from wattcast.api.metrics import ApiMetrics
from wattcast.api.resources import ResourceKind
from wattcast.api.submitting import submit
from wattcast.api.validating import check_spec
from wattcast.crd.fieldtypes import ContractModel

_Public = TypeVar("_Public")


def field_selector(filters: Mapping[str, str | StrEnum | None]) -> str | None:
    """`field=value,...` of the filters that are set. Values are pattern-checked or enum
    members already, so none can smuggle a `,` or `=` into the selector."""
    parts = [
        f"{field}={value.value if isinstance(value, StrEnum) else value}"
        for field, value in filters.items()
        if value is not None
    ]
    return ",".join(parts) or None


async def list_page(
    kube: KubeClient,
    resource: ResourceKind,
    namespace: str,
    selector: str | None,
    limit: int,
    continue_: str | None,
    public: Callable[[dict[str, Any]], _Public],
) -> tuple[list[_Public], str | None]:
    """One page of `resource` as `public` views, and the next page's token (None: the last)."""
    with kube.errors("list", namespace, resource=resource):
        listing = await kube.list_objects(
            namespace,
            field_selector=selector,
            limit=limit,
            continue_=continue_,
            resource=resource,
        )
    items = [public(obj) for obj in listing.get("items") or []]
    return items, (listing.get("metadata") or {}).get("continue") or None


async def create_object(
    kube: KubeClient,
    resource: ResourceKind,
    *,
    spec: ContractModel,
    name: str | None,
    response: Response,
    namespace: str,
    sources: frozenset[str],
    metrics: ApiMetrics,
    idempotency_key: str | None,
    public: Callable[[dict[str, Any]], _Public],
) -> _Public:
    """Check the source, submit (never lost, never twice), count it, and answer 201 with
    Location, or 200 for a repeated submission."""
    check_spec(spec, source_names=sources)
    submission = await submit(
        kube,
        namespace=namespace,
        spec=spec,
        name=name,
        idempotency_key=idempotency_key,
        resource=resource,
    )
    metrics.submissions.labels("created" if submission.created else "replayed").inc()
    if not submission.created:
        response.status_code = status.HTTP_200_OK
    made = (submission.obj.get("metadata") or {}).get("name", "")
    response.headers["Location"] = f"{resource.path}/{made}?namespace={namespace}"
    return public(submission.obj)
