"""The HTTP face of the emulator: an aiohttp application speaking the Kubernetes REST API.

Routing follows kube-apiserver's URL layout (``/api/v1/...``, ``/apis/<group>/<version>/...``,
``namespaces/<ns>/<plural>/<name>/<subresource>``); every answer is JSON; errors are
``Status`` bodies. Semantics live in :mod:`.store`; this module parses requests (selectors,
pagination, Table and PartialObjectMetadata output, DeleteOptions), serves discovery and
streams watches (initial ADDED events or a replay from ``resourceVersion``, 410 Gone as an
ERROR event when that version left the retained window, ``timeoutSeconds``, BOOKMARKs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from wattcast.devtools.emulator import errors, openapi, tables
from wattcast.devtools.emulator.errors import ApiError
from wattcast.devtools.emulator.resources import ResourceType
from wattcast.devtools.emulator.selectors import FieldSelector, LabelSelector
from wattcast.devtools.emulator.store import DeleteOptions, Obj, Store, Watcher

logger = logging.getLogger(__name__)

KUBERNETES_VERSION = {"major": "1", "minor": "33"}
DEFAULT_WATCH_TIMEOUT_S = 1800  # kube-apiserver: --min-request-timeout, randomised up to 2x
# Kinds whose DELETE answers the deleted object; others answer a Success Status, as their
# registries set ReturnDeletedObject (custom resources, pods and namespaces do).
_RETURNS_DELETED_OBJECT = {"Pod", "Namespace", "CustomResourceDefinition"}


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=_dumps(body), status=status, content_type="application/json")


@dataclass
class _Target:
    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


class EmulatorApp:
    """Builds the aiohttp application around one :class:`Store`."""

    def __init__(self, store: Store | None = None, *, bookmark_interval_s: float = 5.0) -> None:
        self.store = store or Store()
        self.bookmark_interval_s = bookmark_interval_s
        self.address = "127.0.0.1:0"
        self._stopping = asyncio.Event()
        self._streams: set[asyncio.Queue[tuple[str, Obj] | None]] = set()
        self.app = web.Application(middlewares=[self._errors_middleware], client_max_size=64 << 20)
        self.app.on_shutdown.append(self._on_shutdown)
        r = self.app.router
        r.add_get("/version", self._version)
        r.add_get("/version/", self._version)  # the kubernetes client asks with a slash
        for probe in ("/healthz", "/livez", "/readyz"):
            r.add_get(probe, self._ok)
        r.add_get("/api", self._api_versions)
        r.add_get("/apis", self._api_groups)
        r.add_route("*", "/api/{tail:.*}", self._dispatch_core)
        r.add_route("*", "/apis/{tail:.*}", self._dispatch_groups)
        r.add_get("/openapi/v3", self._openapi_root)
        r.add_get("/openapi/v3/{tail:.*}", self._openapi_group_version)

    # -- plumbing ------------------------------------------------------------------------------

    @web.middleware
    async def _errors_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except ApiError as exc:
            return json_response(exc.status(), exc.code)
        except web.HTTPException as exc:
            if exc.status == 404:
                return json_response(errors.resource_not_found().status(), 404)
            raise
        return response

    async def _on_shutdown(self, _app: web.Application) -> None:
        self._stopping.set()
        for queue in list(self._streams):
            queue.put_nowait(None)

    async def _ok(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok", content_type="text/plain")

    async def _version(self, _request: web.Request) -> web.Response:
        return json_response(
            {
                **KUBERNETES_VERSION,
                "gitVersion": "v1.33.0-wattcast-emulator",
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean",
                "buildDate": "2025-04-23T00:00:00Z",
                "goVersion": "go1.24.2",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        )

    # -- discovery -----------------------------------------------------------------------------

    async def _api_versions(self, _request: web.Request) -> web.Response:
        return json_response(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": self.address}
                ],
            }
        )

    def _group_entry(self, group: str, versions: list[str]) -> dict[str, Any]:
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}

    async def _api_groups(self, _request: web.Request) -> web.Response:
        groups = [self._group_entry(g, vs) for g, vs in self.store.group_versions().items()]
        return json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        resources: list[dict[str, Any]] = []
        for rtype in self.store.resource_types():
            if rtype.group == group and rtype.version == version:
                resources.extend(rtype.discovery_entries())
        if not resources:
            raise errors.resource_not_found()
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    # -- OpenAPI v3 (just enough for kubectl) ---------------------------------------------------

    def _openapi_docs(self) -> dict[str, dict[str, Any]]:
        docs: dict[str, dict[str, Any]] = {}
        for rtype in self.store.resource_types():
            key = f"apis/{rtype.group}/{rtype.version}" if rtype.group else "api/v1"
            doc = docs.setdefault(key, openapi.empty_document())
            openapi.add_resource(doc, rtype)
        return docs

    async def _openapi_root(self, _request: web.Request) -> web.Response:
        paths = {
            key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={openapi.digest(doc)}"}
            for key, doc in self._openapi_docs().items()
        }
        return json_response({"paths": paths})

    async def _openapi_group_version(self, request: web.Request) -> web.Response:
        doc = self._openapi_docs().get(request.match_info["tail"].strip("/"))
        if doc is None:
            raise errors.resource_not_found()
        return json_response(doc)

    # -- routing -------------------------------------------------------------------------------

    async def _dispatch_core(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.match_info["tail"].split("/") if p]
        if not parts:
            return await self._api_versions(request)
        if parts[0] != "v1":
            raise errors.resource_not_found()
        if len(parts) == 1:
            if request.method != "GET":
                raise errors.method_not_allowed(request.method)
            return json_response(self._resource_list("", "v1"))
        return await self._resource_request(request, "", "v1", parts[1:])

    async def _dispatch_groups(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.match_info["tail"].split("/") if p]
        if not parts:
            return await self._api_groups(request)
        group = parts[0]
        served = self.store.group_versions()
        if group not in served:
            raise errors.resource_not_found()
        if len(parts) == 1:
            body = {
                "kind": "APIGroup",
                "apiVersion": "v1",
                **self._group_entry(group, served[group]),
            }
            return json_response(body)
        version = parts[1]
        if len(parts) == 2:
            return json_response(self._resource_list(group, version))
        return await self._resource_request(request, group, version, parts[2:])

    def _target(self, group: str, version: str, parts: list[str]) -> _Target:
        namespace: str | None = None
        if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] not in ("status", "finalize"):
            namespace, parts = parts[1], parts[2:]
        rtype = self.store.lookup(group, version, parts[0])
        if rtype is None or len(parts) > 3:
            raise errors.resource_not_found()
        if namespace is not None and not rtype.namespaced:
            raise errors.resource_not_found()
        name = parts[1] if len(parts) > 1 else None
        if name is not None and rtype.namespaced and namespace is None:
            raise errors.resource_not_found()
        sub = parts[2] if len(parts) > 2 else None
        if (
            sub is not None
            and sub != "status"
            and not (sub == "finalize" and rtype.kind == "Namespace")
        ):
            raise errors.resource_not_found()
        if sub == "status" and not rtype.status_subresource:
            raise errors.resource_not_found()
        return _Target(rtype, namespace, name, sub)

    async def _resource_request(
        self, request: web.Request, group: str, version: str, parts: list[str]
    ) -> web.StreamResponse:
        target = self._target(group, version, parts)
        method = request.method
        q = request.query
        dry_run = q.get("dryRun") == "All"
        # kube-apiserver's default is Warn; kubectl --validate=false sends Ignore.
        validation = q.get("fieldValidation") or "Warn"
        if validation not in ("Ignore", "Warn", "Strict"):
            raise errors.bad_request(
                f"fieldValidation parameter unsupported: {validation!r}; must be one of "
                "Ignore, Warn, Strict"
            )
        warnings: list[str] = []
        if target.name is None:
            if method == "GET":
                if q.get("watch") in ("true", "1"):
                    return await self._watch(request, target)
                return self._list(request, target)
            if method == "POST":
                if target.rtype.namespaced and target.namespace is None:
                    raise errors.method_not_allowed("create")
                body = await self._json_body(request)
                obj = self.store.create(
                    target.rtype,
                    target.namespace,
                    body,
                    dry_run=dry_run,
                    field_validation=validation,
                    warnings=warnings,
                )
                return _warned(json_response(self._present(target.rtype, obj), 201), warnings)
            if method == "DELETE":
                return await self._delete_collection(request, target)
            raise errors.method_not_allowed(method)
        name = target.name
        sub = "status" if target.subresource == "status" else None
        if method == "GET":
            obj = self.store.get(target.rtype, target.namespace, name)
            return self._single(request, target.rtype, obj)
        if method == "PUT":
            body = await self._json_body(request)
            obj = self.store.update(
                target.rtype,
                target.namespace,
                name,
                body,
                subresource=sub,
                dry_run=dry_run,
                field_validation=validation,
                warnings=warnings,
            )
            return _warned(json_response(self._present(target.rtype, obj)), warnings)
        if method == "PATCH":
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            raw = await request.text()
            try:
                patch = json.loads(raw) if raw else None
            except ValueError:
                if content_type == "application/apply-patch+yaml":
                    patch = raw
                else:
                    raise errors.bad_request("the patch is not valid JSON") from None
            obj = self.store.patch(
                target.rtype,
                target.namespace,
                name,
                content_type,
                patch,
                subresource=sub,
                dry_run=dry_run,
                field_validation=validation,
                warnings=warnings,
            )
            return _warned(json_response(self._present(target.rtype, obj)), warnings)
        if method == "DELETE":
            return await self._delete(request, target)
        raise errors.method_not_allowed(method)

    async def _json_body(self, request: web.Request) -> Any:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type and content_type not in ("application/json", "application/yaml", "*/*"):
            # No protobuf or CBOR: only JSON bodies are understood.
            raise errors.unsupported_media_type(content_type, ["application/json"])
        raw = await request.text()
        try:
            return json.loads(raw)
        except ValueError:
            raise errors.bad_request(
                "the object provided is unrecognized (must be of type JSON object)"
            ) from None

    # -- presenting ----------------------------------------------------------------------------

    @staticmethod
    def _present(rtype: ResourceType, obj: Obj) -> Obj:
        """The object as the requested version (objects are stored once per group/plural)."""
        if obj.get("apiVersion") == rtype.api_version:
            return obj
        return {**obj, "apiVersion": rtype.api_version}

    @staticmethod
    def _output(request: web.Request) -> str:
        accept = request.headers.get("Accept", "")
        for media in accept.split(","):
            params = {
                k.strip(): v.strip() for k, _, v in (p.partition("=") for p in media.split(";")[1:])
            }
            if params.get("g") == "meta.k8s.io" and params.get("as") == "Table":
                return "Table"
            if params.get("g") == "meta.k8s.io" and params.get("as", "").startswith(
                "PartialObjectMetadata"
            ):
                return "Metadata"
            if media.strip().startswith(("application/json", "*/*")) and "as=" not in media:
                return "json"
        return "json"

    def _single(self, request: web.Request, rtype: ResourceType, obj: Obj) -> web.Response:
        out = self._output(request)
        if out == "Table":
            include = request.query.get("includeObject", "Metadata")
            rv = obj["metadata"]["resourceVersion"]
            return json_response(
                tables.table(
                    rtype, [self._present(rtype, obj)], include=include, resource_version=rv
                )
            )
        if out == "Metadata":
            return json_response(_partial(obj))
        return json_response(self._present(rtype, obj))

    def _selectors(self, request: web.Request) -> tuple[LabelSelector, FieldSelector]:
        return (
            LabelSelector.parse(request.query.get("labelSelector")),
            FieldSelector.parse(request.query.get("fieldSelector")),
        )

    def _list(self, request: web.Request, target: _Target) -> web.Response:
        labels, fields = self._selectors(request)
        try:
            limit = int(request.query.get("limit", "0") or 0)
        except ValueError:
            raise errors.bad_request("limit must be an integer") from None
        result = self.store.list_objects(
            target.rtype,
            target.namespace,
            labels,
            fields,
            limit=limit,
            continue_token=request.query.get("continue", ""),
        )
        rtype = target.rtype
        items = [self._present(rtype, o) for o in result.items]
        out = self._output(request)
        if out == "Table":
            include = request.query.get("includeObject", "Metadata")
            return json_response(
                tables.table(
                    rtype,
                    items,
                    include=include,
                    resource_version=result.resource_version,
                    continue_token=result.continue_token,
                )
            )
        metadata: dict[str, Any] = {"resourceVersion": result.resource_version}
        if result.continue_token:
            metadata["continue"] = result.continue_token
            metadata["remainingItemCount"] = result.remaining
        if out == "Metadata":
            return json_response(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": metadata,
                    "items": [_partial(o) for o in items],
                }
            )
        return json_response(
            {
                "kind": rtype.list_kind,
                "apiVersion": rtype.api_version,
                "metadata": metadata,
                "items": items,
            }
        )

    # -- delete --------------------------------------------------------------------------------

    async def _delete_options(self, request: web.Request) -> DeleteOptions:
        opts = DeleteOptions(dry_run=request.query.get("dryRun") == "All")
        raw = await request.text() if request.can_read_body else ""
        body: Mapping[str, Any] = {}
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError:
                raise errors.bad_request("the DeleteOptions body is not valid JSON") from None
            if isinstance(parsed, dict):
                body = parsed
        policy = body.get("propagationPolicy") or request.query.get("propagationPolicy")
        orphan = body.get("orphanDependents")
        if orphan is None and "orphanDependents" in request.query:
            orphan = request.query["orphanDependents"] == "true"
        if policy is None and orphan is not None:
            policy = "Orphan" if orphan else "Background"
        if policy is not None and policy not in ("Background", "Foreground", "Orphan"):
            raise errors.bad_request(f"propagationPolicy {policy!r} is not supported")
        opts.propagation = policy
        pre = body.get("preconditions") or {}
        opts.precondition_uid = pre.get("uid")
        opts.precondition_rv = pre.get("resourceVersion")
        if body.get("dryRun") == ["All"]:
            opts.dry_run = True
        return opts

    async def _delete(self, request: web.Request, target: _Target) -> web.Response:
        assert target.name is not None
        opts = await self._delete_options(request)
        rtype = target.rtype
        obj = self.store.delete(rtype, target.namespace, target.name, opts)
        still_there = self.store.find(rtype, target.namespace, target.name) is not None
        if still_there and not opts.dry_run:
            return json_response(self._present(rtype, obj), 202)
        if rtype.custom or rtype.kind in _RETURNS_DELETED_OBJECT:
            return json_response(self._present(rtype, obj))
        details: dict[str, Any] = {
            "name": target.name,
            "kind": rtype.plural,
            "uid": obj["metadata"]["uid"],
        }
        if rtype.group:
            details["group"] = rtype.group
        return json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }
        )

    async def _delete_collection(self, request: web.Request, target: _Target) -> web.Response:
        opts = await self._delete_options(request)
        labels, fields = self._selectors(request)
        rtype = target.rtype
        victims = self.store.select(rtype, target.namespace, labels, fields)
        deleted: list[Obj] = []
        for obj in victims:
            meta = obj["metadata"]
            with contextlib.suppress(ApiError):
                deleted.append(self.store.delete(rtype, meta.get("namespace"), meta["name"], opts))
        return json_response(
            {
                "kind": rtype.list_kind,
                "apiVersion": rtype.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": [self._present(rtype, o) for o in deleted],
            }
        )

    # -- watch ---------------------------------------------------------------------------------

    async def _watch(self, request: web.Request, target: _Target) -> web.StreamResponse:
        rtype = target.rtype
        labels, fields = self._selectors(request)
        fields.check_supported(rtype.field_getters)
        q = request.query
        try:
            timeout = float(q.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_S)
        except ValueError:
            raise errors.bad_request("timeoutSeconds must be a number") from None
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        output = self._output(request)
        include = q.get("includeObject", "Metadata")
        rv_param = q.get("resourceVersion", "")

        queue: asyncio.Queue[tuple[str, Obj] | None] = asyncio.Queue()
        watcher = Watcher(
            key=rtype.storage_key,
            namespace=target.namespace,
            labels=labels,
            fields=fields,
            rtype=rtype,
            deliver=lambda kind, obj: queue.put_nowait((kind, obj)),
            close=lambda: queue.put_nowait(None),
        )
        gone: ApiError | None = None
        if rv_param and rv_param != "0":
            try:
                start_rv = int(rv_param)
            except ValueError:
                raise errors.bad_request(f"invalid resource version: {rv_param}") from None
            try:
                for event in self.store.events_since(rtype.storage_key, start_rv):
                    out = watcher.translate(event)
                    if out is not None:
                        queue.put_nowait(out)
            except ApiError as exc:
                gone = exc
        else:
            for obj in self.store.select(rtype, target.namespace, labels, fields):
                queue.put_nowait(("ADDED", obj))
        wid = self.store.add_watcher(watcher) if gone is None else None

        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        self._streams.add(queue)
        try:
            if gone is not None:
                await response.write(
                    (_dumps({"type": "ERROR", "object": gone.status()}) + "\n").encode()
                )
                return response
            await self._pump(request, response, queue, rtype, output, include, timeout, bookmarks)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(queue)
            if wid is not None:
                self.store.remove_watcher(wid)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def _pump(
        self,
        request: web.Request,
        response: web.StreamResponse,
        queue: asyncio.Queue[tuple[str, Obj] | None],
        rtype: ResourceType,
        output: str,
        include: str,
        timeout_s: float,
        bookmarks: bool,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        next_bookmark = loop.time() + self.bookmark_interval_s
        first_table = [True]

        async def send(item: tuple[str, Obj]) -> None:
            kind, obj = item
            presented: Any = self._present(rtype, obj)
            if output == "Table":
                presented = tables.table(
                    rtype,
                    [presented],
                    include=include,
                    resource_version=obj["metadata"]["resourceVersion"],
                    with_columns=first_table[0],
                )
                first_table[0] = False
            elif output == "Metadata":
                presented = _partial(obj)
            await response.write((_dumps({"type": kind, "object": presented}) + "\n").encode())

        while not self._stopping.is_set():
            now = loop.time()
            if now >= deadline:
                # Deliver what is queued before ending the round: a closing bookmark must not
                # claim a resourceVersion past events this client has not been sent.
                while not queue.empty():
                    pending = queue.get_nowait()
                    if pending is None:
                        return
                    await send(pending)
                if bookmarks:
                    await self._write_bookmark(response, rtype)
                return
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            wait = min(deadline, next_bookmark if bookmarks else now + 1.0) - now
            try:
                item = await asyncio.wait_for(queue.get(), timeout=max(wait, 0.0))
            except TimeoutError:
                if bookmarks and loop.time() >= next_bookmark and queue.empty():
                    await self._write_bookmark(response, rtype)
                    next_bookmark = loop.time() + self.bookmark_interval_s
                continue
            if item is None:
                return
            await send(item)

    async def _write_bookmark(self, response: web.StreamResponse, rtype: ResourceType) -> None:
        bookmark = {
            "type": "BOOKMARK",
            "object": {
                "kind": rtype.kind,
                "apiVersion": rtype.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
            },
        }
        await response.write((_dumps(bookmark) + "\n").encode())


def _warned(response: web.Response, warnings: list[str]) -> web.Response:
    """Add RFC 7234 ``Warning: 299`` headers, as kube-apiserver does for unknown fields."""
    for text in warnings:
        response.headers.add("Warning", "299 - " + json.dumps(text))
    return response


def _partial(obj: Obj) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


class EmulatorServer:
    """Runs an :class:`EmulatorApp` on 127.0.0.1 in the current event loop."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store: Store | None = None,
        bookmark_interval_s: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.emulator = EmulatorApp(store, bookmark_interval_s=bookmark_interval_s)
        self._runner: web.AppRunner | None = None

    @property
    def store(self) -> Store:
        return self.emulator.store

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        self._runner = web.AppRunner(self.emulator.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # the bound socket tells the real port when port=0
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        self.emulator.address = f"{self.host}:{self.port}"
        logger.info("wattcast emulator serving on %s", self.url)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def ensure_namespace(store: Store, name: str) -> None:
    """Create namespace ``name`` unless it exists."""
    rtype = store.lookup("", "v1", "namespaces")
    assert rtype is not None
    if store.find(rtype, None, name) is None:
        store.create(rtype, None, {"metadata": {"name": name}})
