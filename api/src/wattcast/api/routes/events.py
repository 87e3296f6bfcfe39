"""Server-sent events: status changes of one TrainingJob, or of all in a namespace; the same
machinery streams one FleetTrainingJob (wattcast.api.routes.fleets).

Each stream lists first (sent as `ADDED` events, then one `SYNCED`), then follows a Kubernetes
watch from the list's resourceVersion, so no change between the two is missed. An event is
sent only when what a client sees changed (status word, phase, progress, message, suspend);
its `id` is the object's resourceVersion and its data a TrainingJobPublic. When the watch
expires (410 Gone) the stream lists again and sends what changed meanwhile (`DELETED` for
TrainingJobs that went). The one-job stream ends after the job finishes, is cancelled, or is
deleted.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from fastapi import APIRouter, Depends
from sse_starlette import EventSourceResponse, ServerSentEvent

from wattcast.api.auth import require_token
from wattcast.api.core.config import Settings
from wattcast.api.deps import KubeDep, MetricsDep, NamePath, NamespaceDep, SettingsDep
from wattcast.api.errors import ApiProblem, error_responses
from wattcast.api.kube import KubeClient
from wattcast.api.mapping import job_public
from wattcast.api.metrics import ApiMetrics
from wattcast.api.models import (
    ErrorPublic,
    StreamSyncedPublic,
    TrainingJobPublic,
)
from wattcast.api.resources import TRAININGJOB, ResourceKind
from wattcast.crd.kubeapi import KubeApiError

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["events"], dependencies=[Depends(require_token)])

_RECOVERY_ATTEMPTS = 3

# One event of the stream, as a client's EventSource parses it (keep-alive comments are none).
_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["ADDED", "MODIFIED", "DELETED", "SYNCED", "ERROR"]},
        "data": {
            "type": "string",
            "description": "JSON: a TrainingJobPublic (ADDED, MODIFIED, DELETED), a "
            "StreamSyncedPublic (SYNCED) or an ErrorPublic (ERROR).",
        },
        "id": {"type": "string", "description": "The resourceVersion of the change."},
        "retry": {"type": "integer", "description": "Reconnection delay in milliseconds."},
    },
}


class Streamed(Protocol):
    """What a stream sends of an object: its public view (TrainingJobPublic and
    FleetTrainingJobPublic have these)."""

    @property
    def name(self) -> str: ...

    @property
    def resource_version(self) -> str | None: ...

    @property
    def finished(self) -> bool: ...

    def model_dump_json(self, *, by_alias: bool, exclude_none: bool) -> str: ...


def stream_doc(public: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of a stream whose objects are sent as `public`."""
    return {
        200: {
            "description": f"A text/event-stream. Events: `ADDED`, `MODIFIED`, `DELETED` (data: "
            f"a {public}, id: its resourceVersion), `SYNCED` once the initial state is sent "
            "(data: StreamSyncedPublic), `ERROR` before the stream gives up (data: "
            "ErrorPublic).",
            "content": {
                "text/event-stream": {
                    "schema": {
                        **_EVENT_SCHEMA,
                        "properties": {
                            **_EVENT_SCHEMA["properties"],
                            "data": {
                                "type": "string",
                                "description": f"JSON: a {public} (ADDED, MODIFIED, DELETED), "
                                "a StreamSyncedPublic (SYNCED) or an ErrorPublic (ERROR).",
                            },
                        },
                    }
                }
            },
        }
    }


_STREAM_DOC = stream_doc("TrainingJobPublic")


def _view(public: TrainingJobPublic) -> tuple[object, ...]:
    """What a client sees change; anything else (managed fields, ...) is not an event."""
    spec_suspend = public.spec.suspend if public.spec is not None else None
    return (
        public.task_status,
        public.phase,
        public.progress,
        public.message,
        public.failure_reason,
        public.cancelled,
        spec_suspend,
    )


def _event(kind: str, public: Streamed) -> ServerSentEvent:
    return ServerSentEvent(
        data=public.model_dump_json(by_alias=True, exclude_none=True),
        event=kind,
        id=public.resource_version,
    )


class _Stream:
    """The state of one event stream: what each client already saw.

    `public` turns an object into what is sent, `view` says what of it a client sees change.
    """

    def __init__(
        self,
        kube: KubeClient,
        namespace: str,
        name: str | None,
        retry_after: int,
        *,
        resource: ResourceKind = TRAININGJOB,
        public: Callable[[dict[str, Any]], Any] = job_public,
        view: Callable[[Any], tuple[object, ...]] = _view,
    ):
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.retry_after = retry_after
        self.resource = resource
        self.public = public
        self.view = view
        self.seen: dict[str, tuple[object, ...]] = {}
        self.finished = False

    @property
    def selector(self) -> str | None:
        return f"metadata.name={self.name}" if self.name else None

    def _mine(self, obj: dict[str, Any]) -> bool:
        # The server filters by the selector; checked again in case a server ignores it.
        return self.name is None or obj.get("metadata", {}).get("name") == self.name

    async def list_all(self) -> tuple[list[dict[str, Any]], str | None]:
        items: list[dict[str, Any]] = []
        continue_: str | None = None
        version: str | None = None
        while True:
            listing = await self.kube.list_objects(
                self.namespace,
                field_selector=self.selector,
                limit=500,
                continue_=continue_,
                resource=self.resource,
            )
            items += [o for o in listing.get("items") or [] if self._mine(o)]
            metadata = listing.get("metadata") or {}
            version = version or metadata.get("resourceVersion")
            continue_ = metadata.get("continue")
            if not continue_:
                return items, version

    def changed(self, kind: str, obj: dict[str, Any]) -> ServerSentEvent | None:
        public: Streamed = self.public(obj)
        if kind == "DELETED":
            self.seen.pop(public.name, None)
            self.finished = self.name is not None
            return _event("DELETED", public)
        view = self.view(public)
        if self.seen.get(public.name) == view:
            return None
        new = public.name not in self.seen
        self.seen[public.name] = view
        if self.name is not None and public.finished:
            self.finished = True
        return _event("ADDED" if new else "MODIFIED", public)

    def resync(self, items: list[dict[str, Any]]) -> list[ServerSentEvent]:
        """Events that bring a client from what it saw to `items` (after a watch expired)."""
        events: list[ServerSentEvent] = []
        present = {o.get("metadata", {}).get("name") for o in items}
        for gone in [n for n in self.seen if n not in present]:
            self.seen.pop(gone)
            data = json.dumps({"name": gone, "namespace": self.namespace})
            events.append(ServerSentEvent(data=data, event="DELETED"))
            self.finished = self.name is not None
        for obj in items:
            event = self.changed("MODIFIED", obj)
            if event is not None:
                events.append(event)
        return events

    async def events(
        self, items: list[dict[str, Any]], version: str | None, metrics: ApiMetrics
    ) -> AsyncIterator[ServerSentEvent]:
        metrics.streams.inc()
        try:
            for obj in items:
                event = self.changed("ADDED", obj)
                if event is not None:
                    yield event
            synced = StreamSyncedPublic(resource_version=version, count=len(items))
            yield ServerSentEvent(data=synced.model_dump_json(by_alias=True), event="SYNCED")
            failures = 0
            while not self.finished:
                try:
                    async for raw in self.kube.watch(
                        self.namespace,
                        resource_version=version,
                        field_selector=self.selector,
                        resource=self.resource,
                    ):
                        failures = 0
                        obj = raw.get("object") or {}
                        kind = str(raw.get("type"))
                        version = obj.get("metadata", {}).get("resourceVersion") or version
                        if kind not in {"ADDED", "MODIFIED", "DELETED"} or not self._mine(obj):
                            continue  # BOOKMARK: only the resourceVersion moves on
                        event = self.changed(kind, obj)
                        if event is not None:
                            yield event
                        if self.finished:
                            return
                except KubeApiError as err:
                    failures += 1
                    if err.status != 410 and failures > _RECOVERY_ATTEMPTS:
                        problem = ApiProblem(
                            503,
                            f"Lost the watch of {self.resource.many} in {self.namespace!r}: "
                            f"{err}. "
                            "Reconnect to start again.",
                        )
                        yield ServerSentEvent(
                            data=problem.body().model_dump_json(exclude_none=True),
                            event="ERROR",
                            retry=self.retry_after * 1000,
                        )
                        return
                    if err.status != 410:
                        await asyncio.sleep(min(self.retry_after, 2**failures))
                    try:
                        items, version = await self.list_all()
                    except KubeApiError:
                        continue
                    for event in self.resync(items):
                        yield event
        finally:
            metrics.streams.dec()


async def open_stream(
    kube: KubeClient,
    namespace: str,
    name: str | None,
    settings: Settings,
    metrics: ApiMetrics,
    *,
    resource: ResourceKind = TRAININGJOB,
    public: Callable[[dict[str, Any]], Any] = job_public,
    view: Callable[[Any], tuple[object, ...]] = _view,
) -> EventSourceResponse:
    """The response of one stream (all objects of the namespace, or the one named)."""
    retry_after = settings.api_retry_after_seconds
    stream = _Stream(
        kube, namespace, name, retry_after, resource=resource, public=public, view=view
    )
    # The first list happens before the response starts, so its errors (403, 404, 503) are
    # proper HTTP answers rather than a broken stream.
    with kube.errors("watch", namespace, name, resource=resource):
        items, version = await stream.list_all()
    if name is not None and not items:
        raise ApiProblem(404, f"{resource.kind} {name!r} not found in namespace {namespace!r}.")
    try:
        kube.open_stream()
    except KubeApiError:
        raise ApiProblem(
            503,
            "Too many event streams are open (WATTCAST_API_MAX_STREAMS); retry later.",
            headers={"Retry-After": str(retry_after)},
        ) from None

    async def body() -> AsyncIterator[ServerSentEvent]:
        # The request's budget covered the first list; the stream lives on by its own timeouts.
        kube.unbounded()
        try:
            async for event in stream.events(items, version, metrics):
                yield event
        finally:
            kube.close_stream()

    return EventSourceResponse(
        body(), ping=settings.api_sse_ping_seconds, headers={"Cache-Control": "no-store"}
    )


@router.get(
    "/events",
    summary="Stream status changes of all TrainingJobs in a namespace (SSE)",
    response_class=EventSourceResponse,
    responses={**_STREAM_DOC, **error_responses(401, 403, 422, 429, 503)},
)
async def stream_all(
    kube: KubeDep, namespace: NamespaceDep, settings: SettingsDep, metrics: MetricsDep
) -> EventSourceResponse:
    return await open_stream(kube, namespace, None, settings, metrics)


@router.get(
    "/trainingjobs/{name}/events",
    summary="Stream status changes of one TrainingJob (SSE)",
    response_class=EventSourceResponse,
    responses={**_STREAM_DOC, **error_responses(401, 403, 404, 422, 429, 503)},
)
async def stream_one(
    name: NamePath,
    kube: KubeDep,
    namespace: NamespaceDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> EventSourceResponse:
    """Ends after the TrainingJob succeeds, fails, is cancelled or is deleted."""
    return await open_stream(kube, namespace, name, settings, metrics)


__all__ = ["ErrorPublic", "router"]
