"""Pure ASGI middleware: the request body size limit and the request metrics.

Pure ASGI (not BaseHTTPMiddleware) so event streams pass through unbuffered.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wattcast.api.errors import ApiProblem
from wattcast.api.metrics import ApiMetrics


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`, whether it announces its length or streams chunks.

    The body is read here (it is small by definition) and handed on, so the app never sees a
    byte past the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: Callable[[], int]) -> None:
        self.app = app
        # A callable: the limit is a setting, known only once the app has started.
        self._max_bytes = max_bytes

    @property
    def max_bytes(self) -> int:
        return self._max_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        too_large = ApiProblem(
            413,
            f"The request body is larger than {self.max_bytes} bytes "
            "(WATTCAST_API_MAX_BODY_BYTES); a TrainingJob spec needs far less.",
        )
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    if int(value) > self.max_bytes:
                        await too_large.response()(scope, receive, send)
                        return
                except ValueError:
                    await ApiProblem(400, "Invalid Content-Length header.").response()(
                        scope, receive, send
                    )
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await too_large.response()(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
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
