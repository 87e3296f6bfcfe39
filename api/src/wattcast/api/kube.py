"""The API's Kubernetes calls: reads and writes of TrainingJobs and FleetTrainingJobs (each
call names its `ResourceKind`, TrainingJob by default), bounded in time and in threads.

The official (synchronous) `kubernetes` client runs in worker threads, bounded by a capacity
limiter that matches its connection pool, so a burst of submissions queues instead of opening
hundreds of connections. Watches for the event streams run in their own threads (one per
stream, bounded by WATTCAST_API_MAX_STREAMS) and hand events to the event loop.

The configuration comes from `wattcast.crd.kubeapi.load_configuration` (WATTCAST_API_KUBECONFIG,
else in-cluster, else $KUBECONFIG). Every failure of a call is raised as the contract's
`KubeApiError` (status 0 when no answer came at all); `errors()` turns it into the API's HTTP
error with `wattcast.api.errors.problem_for`, the one mapping.

WATTCAST_API_KUBE_TIMEOUT_SECONDS bounds a whole request's Kubernetes calls, not each one:
`bound_to_request()` (the `get_kube` dependency) starts a deadline, and every call gets what is
left of it, waiting for a worker thread included. urllib3 retries nothing that could multiply
the wait: a read that timed out is never sent again (the default Retry(3) did, which made a
hanging API server cost four read timeouts per call). An event stream's watch, long-lived by
design, has its own timeouts (`unbounded()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from functools import partial
from typing import Any

import anyio
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wattcast.api.errors import problem_for
from wattcast.api.resources import TRAININGJOB, ResourceKind
from wattcast.crd import constants
from wattcast.crd.kubeapi import KubeApiError, kube_error

logger = logging.getLogger(__name__)


_GVP = (constants.GROUP, constants.VERSION)


# When the current request's Kubernetes budget ends (time.monotonic()); None: no request's.
_deadline: ContextVar[float | None] = ContextVar("wattcast_kube_deadline", default=None)
# The longest a new connection may take; what is left of the budget goes to the answer.
_CONNECT_TIMEOUT_S = 5.0
# Connection refused (or reset before the request was sent) is tried once more, at once;
# reads and server errors never are, so no call waits for more than one answer.
_RETRIES = urllib3.Retry(total=1, connect=1, read=0, other=0, status=0, redirect=0)


class KubeClient:
    """Custom-resource calls of the API, each awaited while a worker thread does the blocking
    I/O."""

    def __init__(
        self,
        configuration: client.Configuration,
        *,
        timeout_seconds: float,
        concurrency: int,
        max_streams: int,
        watch_timeout_seconds: int,
        retry_after_seconds: int = 5,
    ) -> None:
        # Reads get a lane of their own, so that a status query never waits behind a burst
        # of queued submissions. The pool holds as many connections as calls may run at once
        # in both lanes, or urllib3 opens and drops extra ones under a burst.
        read_concurrency = max(4, concurrency // 4)
        configuration.connection_pool_maxsize = concurrency + read_concurrency
        configuration.retries = _RETRIES
        self._api_client = client.ApiClient(configuration)
        self._api = client.CustomObjectsApi(self._api_client)
        self.timeout_seconds = timeout_seconds
        self._timeout = (min(_CONNECT_TIMEOUT_S, timeout_seconds), timeout_seconds)
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._read_limiter = anyio.CapacityLimiter(read_concurrency)
        # Counted on the event loop's thread only, so a plain integer is safe.
        self._max_streams = max_streams
        self._open_streams = 0
        self._watch_timeout = watch_timeout_seconds
        self.retry_after_seconds = retry_after_seconds

    @contextlib.contextmanager
    def errors(
        self,
        action: str,
        namespace: str,
        name: str | None = None,
        *,
        resource: ResourceKind = TRAININGJOB,
    ) -> Iterator[None]:
        """Turns a KubeApiError raised inside into the API's HTTP error (problem_for)."""
        try:
            yield
        except KubeApiError as err:
            logger.info(
                "Kubernetes %s %s %s/%s failed: %s",
                action,
                resource.kind,
                namespace,
                name or "*",
                err,
            )
            raise problem_for(
                err,
                action=action,
                namespace=namespace,
                name=name,
                retry_after=self.retry_after_seconds,
                resource=resource,
            ) from None

    def close(self) -> None:
        self._api_client.close()  # type: ignore[no-untyped-call]

    def bound_to_request(self) -> None:
        """Start the current request's budget: its calls together take at most the timeout."""
        _deadline.set(time.monotonic() + self.timeout_seconds)

    @staticmethod
    def unbounded() -> None:
        """Calls from here on (in this context) get the per-call timeout only (streams)."""
        _deadline.set(None)

    def _budget(self, cap: float) -> float:
        deadline = _deadline.get()
        if deadline is None:
            return cap
        return min(cap, deadline - time.monotonic())

    async def _call(
        self,
        fn: Callable[..., Any],
        *,
        read: bool = False,
        cap: float | None = None,
    ) -> Any:
        """`fn(_request_timeout=...)` in a worker thread, within what is left of the budget.

        Past the budget the awaiting request gives up (status 0, "no answer in time"); the
        thread it leaves behind ends by its own socket timeouts, which are no longer.
        """
        limiter = self._read_limiter if read else self._limiter
        budget = self._budget(cap or self.timeout_seconds)
        if budget <= 0:
            raise KubeApiError(status=0, message="no answer in time")
        timeout = (min(_CONNECT_TIMEOUT_S, budget), budget)
        try:
            with anyio.fail_after(budget):
                return await anyio.to_thread.run_sync(
                    partial(fn, _request_timeout=timeout), limiter=limiter, abandon_on_cancel=True
                )
        except (ApiException, urllib3.exceptions.HTTPError, OSError, TimeoutError) as exc:
            raise kube_error(exc) from exc

    async def create(
        self, namespace: str, body: dict[str, Any], *, resource: ResourceKind = TRAININGJOB
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            partial(
                self._api.create_namespaced_custom_object,
                *_GVP,
                namespace,
                resource.plural,
                body,
            )
        )
        return result

    async def get(
        self, namespace: str, name: str, *, resource: ResourceKind = TRAININGJOB
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            partial(
                self._api.get_namespaced_custom_object,
                *_GVP,
                namespace,
                resource.plural,
                name,
            ),
            read=True,
        )
        return result

    async def list_objects(
        self,
        namespace: str,
        *,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        label_selector: str | None = None,
        resource: ResourceKind = TRAININGJOB,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if field_selector:
            kwargs["field_selector"] = field_selector
        if label_selector:
            kwargs["label_selector"] = label_selector
        if limit is not None:
            kwargs["limit"] = limit
        if continue_:
            kwargs["_continue"] = continue_
        result: dict[str, Any] = await self._call(
            partial(
                self._api.list_namespaced_custom_object,
                *_GVP,
                namespace,
                resource.plural,
                **kwargs,
            ),
            read=True,
        )
        return result

    async def patch(
        self,
        namespace: str,
        name: str,
        patch: dict[str, Any],
        *,
        resource: ResourceKind = TRAININGJOB,
    ) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386); put metadata.resourceVersion in it to be optimistic."""
        result: dict[str, Any] = await self._call(
            partial(
                self._api.patch_namespaced_custom_object,
                *_GVP,
                namespace,
                resource.plural,
                name,
                patch,
                _content_type="application/merge-patch+json",
            )
        )
        return result

    async def delete(
        self, namespace: str, name: str, *, resource: ResourceKind = TRAININGJOB
    ) -> None:
        await self._call(
            partial(
                self._api.delete_namespaced_custom_object,
                *_GVP,
                namespace,
                resource.plural,
                name,
                # Background: the TrainingJob goes at once; the garbage collector then removes
                # its Job and pods through their ownerReferences.
                propagation_policy="Background",
            )
        )

    async def check_ready(self, namespace: str) -> None:
        """Raises KubeApiError unless TrainingJobs can be listed (API up, CRD there, RBAC)."""
        await self._call(
            partial(
                self._api.list_namespaced_custom_object,
                *_GVP,
                namespace,
                constants.PLURAL,
                limit=1,
            ),
            read=True,
            cap=3.0,
        )

    def open_stream(self) -> None:
        """Take one of WATTCAST_API_MAX_STREAMS; KubeApiError(429) when all are taken."""
        if self._open_streams >= self._max_streams:
            raise KubeApiError(status=429, message="too many open event streams")
        self._open_streams += 1

    def close_stream(self) -> None:
        self._open_streams -= 1

    async def watch(
        self,
        namespace: str,
        *,
        resource_version: str | None,
        field_selector: str | None = None,
        resource: ResourceKind = TRAININGJOB,
    ) -> AsyncIterator[dict[str, Any]]:
        """One watch round: events ({"type", "object"}) until the server ends the round.

        An ERROR event (such as 410 Gone: the resourceVersion is too old) is raised as
        KubeApiError. Closing the generator shuts the connection, which frees the thread.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any] | BaseException | None] = asyncio.Queue()
        stopped = threading.Event()
        holder: dict[str, Any] = {}

        def put(item: dict[str, Any] | BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def pump() -> None:
            kwargs: dict[str, Any] = {
                "watch": True,
                "allow_watch_bookmarks": True,
                "timeout_seconds": self._watch_timeout,
                "_preload_content": False,
                "_request_timeout": (self._timeout[0], self._watch_timeout + 30),
            }
            if resource_version:
                kwargs["resource_version"] = resource_version
            if field_selector:
                kwargs["field_selector"] = field_selector
            response: Any = None
            try:
                response = self._api.list_namespaced_custom_object(
                    *_GVP, namespace, resource.plural, **kwargs
                )
                holder["response"] = response
                if stopped.is_set():
                    return
                for line in response:
                    if stopped.is_set():
                        return
                    if line.strip():
                        try:
                            put(json.loads(line))
                        except ValueError:
                            put(KubeApiError(status=0, message="malformed watch event"))
                            return
            except BaseException as exc:
                if not stopped.is_set():
                    put(exc)
            finally:
                if response is not None:
                    with contextlib.suppress(Exception):
                        if stopped.is_set():
                            response.close()  # cut short: the connection is not reusable
                        else:
                            response.release_conn()  # read to its end: back to the pool
                put(None)

        thread = threading.Thread(target=pump, name=f"watch-{namespace}", daemon=True)
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, KubeApiError):
                    raise item
                if isinstance(item, ApiException | urllib3.exceptions.HTTPError | OSError):
                    raise kube_error(item) from item
                if isinstance(item, BaseException):
                    raise item
                if item.get("type") == "ERROR":
                    status = item.get("object") or {}
                    raise KubeApiError(
                        status=int(status.get("code") or 500),
                        message=str(status.get("message") or "watch error"),
                        reason=str(status.get("reason") or ""),
                    )
                yield item
        finally:
            stopped.set()
            response = holder.get("response")
            if response is not None:
                # Unblocks the thread's read at once (urllib3 >= 2.3) instead of waiting for
                # the next event or the end of the round.
                with contextlib.suppress(Exception):
                    response.shutdown()
