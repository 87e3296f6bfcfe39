"""What every list of the /v1 API shares: filters as a Kubernetes field selector (the CRDs'
selectable fields, so the API server filters), and one page through limit/continue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from wattcast.api.kube import KubeClient
from wattcast.api.resources import ResourceKind

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
