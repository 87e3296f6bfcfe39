"""Pure ASGI middleware: requests in flight, the request body's size and time, the metrics.

Pure ASGI (not BaseHTTPMiddleware) so event streams pass through unbuffered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wattcast.api.errors import ApiProblem
from wattcast.api.metrics import ApiMetrics

# Probes and metrics are answered whatever the load: a busy API must not look dead.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class InFlightLimitMiddleware:
    """503 (with Retry-After) beyond `max_requests` requests in flight, except the probes.

    This replaces uvicorn's `limit_concurrency`, which counts connections (stalled ones too)
    and refuses the probes with everything else.
    """

    def __init__(
        self, app: ASGIApp, *, max_requests: Callable[[], int], retry_after: Callable[[], int]
    ) -> None:
        self.app = app
        # Callables: the limits are settings, known only once the app has started.
        self._max_requests = max_requests
        self._retry_after = retry_after
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self._max_requests():
            busy = ApiProblem(
                503,
                "The API is serving as many requests as it may (WATTCAST_API_MAX_REQUESTS); "
                "retry after Retry-After seconds.",
                headers={"Retry-After": str(self._retry_after())},
            )
            await busy.response()(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`, whether it announces its length or streams chunks;
    408 when the body takes longer than `timeout` seconds to arrive.

    The body is read here (it is small by definition) and handed on, so the app never sees a
    byte past the limit. `floors` raises the limit for the paths whose bodies are larger by
    design (a FleetTrainingJob lists up to MAX_METER_IDS meters).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: Callable[[], int],
        timeout: Callable[[], float],
        floors: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        # Callables: the limits are settings, known only once the app has started.
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._floors = dict(floors or {})

    @property
    def max_bytes(self) -> int:
        return self._max_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        limit = max(self.max_bytes, self._floors.get(str(scope.get("path", "")), 0))
        too_large = ApiProblem(
            413,
            f"The request body is larger than {limit} bytes "
            "(WATTCAST_API_MAX_BODY_BYTES); a spec needs far less.",
        )
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    if int(value) > limit:
                        await too_large.response()(scope, receive, send)
                        return
                except ValueError:
                    await ApiProblem(400, "Invalid Content-Length header.").response()(
                        scope, receive, send
                    )
                    return
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self._timeout()) as reading:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body = message.get("body", b"")
                size += len(body)
                if size > limit:
                    await too_large.response()(scope, receive, send)
                    return
                chunks.append(body)
                if not message.get("more_body", False):
                    break
        if reading.cancelled_caught:
            too_slow = ApiProblem(
                408,
                f"The request body did not arrive within {self._timeout():g} seconds "
                "(WATTCAST_API_BODY_TIMEOUT_SECONDS).",
                headers={"Connection": "close"},
            )
            await too_slow.response()(scope, receive, send)
            return
        whole = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class MetricsMiddleware:
    """Counts requests and times them by route template (never by raw path: ids would
    explode the label space)."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        timed = False

        def route() -> str:
            found = scope.get("route")
            return str(getattr(found, "path", "unmatched"))

        async def send_wrapper(message: Message) -> None:
            nonlocal status, timed
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if not timed:
                    timed = True
                    self.metrics.latency.labels(scope["method"], route()).observe(
                        time.perf_counter() - started
                    )
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.requests.labels(scope["method"], route(), str(status)).inc()
