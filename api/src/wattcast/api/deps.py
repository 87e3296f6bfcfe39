"""FastAPI dependencies: settings, the Kubernetes client, the namespace of a request, the
Idempotency-Key header, and the TrainingJob (FleetTrainingJob) name of a path (`NamePath`,
`FleetNamePath`, declared once here).

They are `async def` although none awaits: FastAPI runs a plain `def` dependency in its
thread pool, and under a burst of submissions those hops queue behind each other.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request

from wattcast.api.core.config import Settings, get_settings
from wattcast.api.errors import ApiProblem, invalid_field
from wattcast.api.kube import KubeClient
from wattcast.api.metrics import ApiMetrics
from wattcast.api.models import IDEMPOTENCY_KEY_PATTERN
from wattcast.crd.constants import MAX_NAME_LENGTH
from wattcast.crd.names import DNS_LABEL_MAX_LENGTH, DNS_LABEL_PATTERN

SettingsDep = Annotated[Settings, Depends(get_settings)]


def _name_path(description: str) -> Any:
    # A name in a path: a DNS-1123 label, so that its Job (same name) is valid too.
    return Path(
        description=description,
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        pattern=DNS_LABEL_PATTERN,
    )


NamePath = Annotated[
    str,
    _name_path("Name of the TrainingJob (the seed's task_id; a UUID when the API chose it)."),
]
FleetNamePath = Annotated[
    str, _name_path("Name of the FleetTrainingJob (a UUID when the API chose it).")
]
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


async def get_kube(request: Request) -> KubeClient:
    """The client, with this request's Kubernetes budget started (an async dependency runs in
    the request's own context, so the deadline it sets is the route's)."""
    kube: KubeClient = request.app.state.kube
    kube.bound_to_request()
    return kube


async def get_metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


async def get_source_names(request: Request) -> frozenset[str]:
    names: frozenset[str] = request.app.state.source_names
    return names


KubeDep = Annotated[KubeClient, Depends(get_kube)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
SourceNamesDep = Annotated[frozenset[str], Depends(get_source_names)]


async def get_namespace(
    settings: SettingsDep,
    namespace: Annotated[
        str | None,
        Query(
            description="Namespace of the TrainingJobs; the API's default namespace if unset. "
            "Only namespaces in WATTCAST_API_NAMESPACES are served.",
            max_length=DNS_LABEL_MAX_LENGTH,
        ),
    ] = None,
) -> str:
    chosen = namespace or settings.api_namespace
    allowed = settings.allowed_namespaces
    if chosen not in allowed:
        raise ApiProblem(
            403,
            f"Namespace {chosen!r} is not served by this API; allowed: {', '.join(allowed)} "
            "(WATTCAST_API_NAMESPACES).",
        )
    return chosen


NamespaceDep = Annotated[str, Depends(get_namespace)]


async def get_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Makes the submission safe to retry: the same key with the same body "
            "returns the TrainingJob the first request created (200) instead of a second one; "
            "with a different body it is a 409. 1-255 printable ASCII characters, no spaces.",
            # Declared for the OpenAPI document; checked below, with a message of our own.
            json_schema_extra={
                "pattern": IDEMPOTENCY_KEY_PATTERN,
                "minLength": 1,
                "maxLength": 255,
            },
        ),
    ] = None,
) -> str | None:
    if idempotency_key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise invalid_field(
            "Idempotency-Key",
            "header",
            "must be 1-255 printable ASCII characters without spaces (a UUID is a good key)",
            "string_pattern_mismatch",
        )
    return idempotency_key


IdempotencyKeyDep = Annotated[str | None, Depends(get_idempotency_key)]


# Pagination of every list: Kubernetes' own limit/continue.
LimitQuery = Annotated[int, Query(ge=1, le=500, description="At most this many items on the page.")]
ContinueQuery = Annotated[
    str | None,
    Query(
        alias="continue",
        max_length=4096,
        description="The `continue` of the previous page, with the same filters.",
    ),
]
