"""Kubernetes access for the API, and the ONE place Kubernetes errors become HTTP errors.

The official (synchronous) `kubernetes` client runs in worker threads, bounded by a capacity
limiter that matches its connection pool, so a burst of submissions queues instead of opening
hundreds of connections. Watches for the event streams run in their own threads (one per
stream, bounded by WATTCAST_API_MAX_STREAMS) and hand events to the event loop.

Every failure of a Kubernetes call is turned into a `KubeApiError` (status 0 when no answer
came at all), and `problem_for()` maps it to the API's error (`ApiProblem`): 404, 409, 403,
422 and 429 keep their meaning, 5xx and unreachable become 503 with Retry-After. What reaches
a client is for people: a failure with no answer says only what kind it was (no answer in
time, cannot connect), and a 5xx only its status; the raw exception, with the API server's
address in it, goes to the log.

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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from wattcast.api.errors import ApiProblem
from wattcast.api.models import FieldErrorPublic
from wattcast.crd import constants

logger = logging.getLogger(__name__)


_GVP = (constants.GROUP, constants.VERSION)


@dataclass
class KubeApiError(Exception):
    """A Kubernetes API call that failed: its HTTP status (0: no answer) and the server's words."""

    status: int
    message: str
    kube_reason: str = ""
    retry_after: int | None = None
    causes: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.kube_reason}: {self.message}"


def _parse_retry_after(headers: Any) -> int | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return max(1, int(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def kube_error(exc: BaseException) -> KubeApiError:
    """Any exception of a Kubernetes call -> KubeApiError (the server's Status when it sent one)."""
    if isinstance(exc, KubeApiError):
        return exc
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        message = str(exc.reason or "")
        kube_reason = ""
        causes: list[dict[str, Any]] = []
        try:
            body = json.loads(exc.body) if exc.body else None
        except (TypeError, ValueError):
            body = None
        if isinstance(body, dict):
            message = str(body.get("message") or message)
            kube_reason = str(body.get("reason") or "")
            details = body.get("details")
            if isinstance(details, dict) and isinstance(details.get("causes"), list):
                causes = [c for c in details["causes"] if isinstance(c, dict)]
        return KubeApiError(
            status=status,
            message=message,
            kube_reason=kube_reason,
            retry_after=_parse_retry_after(exc.headers),
            causes=causes,
        )
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError | TimeoutError):
        # The exception's text names the API server's host and port: logged, never shown.
        logger.warning("Kubernetes API call failed without an answer: %r", exc)
        return KubeApiError(status=0, message=_no_answer(exc))
    raise exc


def _no_answer(exc: BaseException) -> str:
    """What kind of failure it was, in words that name no address."""
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    # First: urllib3's NewConnectionError (refused, no route, DNS) is a kind of TimeoutError.
    if isinstance(reason, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        return "cannot connect"
    if isinstance(reason, TimeoutError | urllib3.exceptions.TimeoutError):
        return "no answer in time"
    if isinstance(reason, urllib3.exceptions.SSLError):
        return "TLS handshake failed"
    return "the connection failed"


def problem_for(
    err: KubeApiError,
    *,
    action: str,
    namespace: str,
    name: str | None = None,
    retry_after: int = 5,
) -> ApiProblem:
    """The one mapping from a failed Kubernetes call to the API's HTTP error."""
    what = f"TrainingJob {name!r}" if name else "TrainingJobs"
    where = f"in namespace {namespace!r}"
    unavailable_headers = {"Retry-After": str(err.retry_after or retry_after)}
    if err.status == 404:
        if name is None:
            # The collection itself is missing: the CRD is not installed. Not the caller's fault.
            return ApiProblem(
                503,
                "The TrainingJob resource is not installed in the cluster (apply "
                "crds/trainingjob.yaml or install the Helm chart with crds.enabled).",
                headers=unavailable_headers,
            )
        if action == "create":
            # Nothing to find when creating: the namespace itself (or the resource) is missing.
            return ApiProblem(
                404,
                f"Could not create {what} {where}: {err.message}. Does the namespace exist, "
                "and is the TrainingJob CRD installed?",
            )
        return ApiProblem(404, f"{what} not found {where}.")
    if err.status == 409:
        return ApiProblem(409, f"Conflict while trying to {action} {what} {where}: {err.message}")
    if err.status == 403:
        return ApiProblem(
            403,
            f"The API's Kubernetes identity may not {action} {what} {where} "
            f"(grant it in the chart's RBAC): {err.message}",
        )
    if err.status == 422:
        errors = [
            FieldErrorPublic(
                field=str(c.get("field") or "spec"),
                location=["body", *str(c.get("field") or "spec").split(".")],
                message=str(c.get("message") or err.message),
                type=str(c.get("reason") or "FieldValueInvalid"),
            )
            for c in err.causes
        ]
        return ApiProblem(
            422, f"The Kubernetes API refused the TrainingJob: {err.message}", errors=errors
        )
    if err.status == 429:
        return ApiProblem(
            429,
            f"The Kubernetes API is busy; retry after {err.retry_after or retry_after} s.",
            headers=unavailable_headers,
        )
    if err.status == 410:
        return ApiProblem(
            410, f"{err.message}. The list changed too much: start again without `continue`."
        )
    if err.status == 400:
        return ApiProblem(400, f"The Kubernetes API refused the request: {err.message}")
    if err.status == 0 or err.status == 401 or err.status >= 500:
        if err.status == 401:
            cause = "cannot authenticate (check the API's kubeconfig or ServiceAccount)"
        elif err.status == 0:
            cause = f"is unavailable ({err.message})"
        else:
            # A server error's text may carry internal addresses (webhooks, etcd): not shown.
            cause = f"is unavailable (HTTP {err.status})"
        return ApiProblem(
            503,
            f"Could not {action} {what} {where}: the Kubernetes API {cause}. Retry after "
            f"{unavailable_headers['Retry-After']} s; a submission retried with the same "
            "Idempotency-Key is never duplicated.",
            headers=unavailable_headers,
        )
    return ApiProblem(502, f"Unexpected answer from the Kubernetes API (HTTP {err.status}).")


def load_configuration(kubeconfig: Path | None = None) -> client.Configuration:
    """`kubeconfig` if given; else in-cluster configuration in a pod, else KUBECONFIG or
    ~/.kube/config."""
    configuration = client.Configuration()
    if kubeconfig is not None:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), client_configuration=configuration
        )
        logger.info("Kubernetes: %s, server %s", kubeconfig, configuration.host)
        return configuration
    try:
        config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration
        )
        logger.info("Kubernetes: in-cluster configuration")
    except ConfigException:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        logger.info("Kubernetes: kubeconfig, server %s", configuration.host)
    return configuration


# When the current request's Kubernetes budget ends (time.monotonic()); None: no request's.
_deadline: ContextVar[float | None] = ContextVar("wattcast_kube_deadline", default=None)
# The longest a new connection may take; what is left of the budget goes to the answer.
_CONNECT_TIMEOUT_S = 5.0
# Connection refused (or reset before the request was sent) is tried once more, at once;
# reads and server errors never are, so no call waits for more than one answer.
_RETRIES = urllib3.Retry(total=1, connect=1, read=0, other=0, status=0, redirect=0)


class KubeClient:
    """TrainingJob calls of the API, each awaited while a worker thread does the blocking I/O."""

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
    def errors(self, action: str, namespace: str, name: str | None = None) -> Iterator[None]:
        """Turns a KubeApiError raised inside into the API's HTTP error (problem_for)."""
        try:
            yield
        except KubeApiError as err:
            logger.info("Kubernetes %s %s/%s failed: %s", action, namespace, name or "*", err)
            raise problem_for(
                err,
                action=action,
                namespace=namespace,
                name=name,
                retry_after=self.retry_after_seconds,
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

    async def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            partial(
                self._api.create_namespaced_custom_object,
                *_GVP,
                namespace,
                constants.PLURAL,
                body,
            )
        )
        return result

    async def get(self, namespace: str, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            partial(
                self._api.get_namespaced_custom_object,
                *_GVP,
                namespace,
                constants.PLURAL,
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
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if field_selector:
            kwargs["field_selector"] = field_selector
        if limit is not None:
            kwargs["limit"] = limit
        if continue_:
            kwargs["_continue"] = continue_
        result: dict[str, Any] = await self._call(
            partial(
                self._api.list_namespaced_custom_object,
                *_GVP,
                namespace,
                constants.PLURAL,
                **kwargs,
            ),
            read=True,
        )
        return result

    async def patch(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386); put metadata.resourceVersion in it to be optimistic."""
        result: dict[str, Any] = await self._call(
            partial(
                self._api.patch_namespaced_custom_object,
                *_GVP,
                namespace,
                constants.PLURAL,
                name,
                patch,
                _content_type="application/merge-patch+json",
            )
        )
        return result

    async def delete(self, namespace: str, name: str) -> None:
        await self._call(
            partial(
                self._api.delete_namespaced_custom_object,
                *_GVP,
                namespace,
                constants.PLURAL,
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
                    *_GVP, namespace, constants.PLURAL, **kwargs
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
                        kube_reason=str(status.get("reason") or ""),
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
