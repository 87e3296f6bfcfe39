"""The HTTP connection guard: what uvicorn leaves open to slow and oversized clients.

uvicorn (0.54, with httptools) times out nothing before a request's headers are complete: a
connection that sends nothing, or trickles its headers a byte at a time, is held for ever; its
keep-alive timer is cancelled by any byte. httptools buffers header values without bound (four
64 MiB headers took the API from 99 to 441 MiB). And uvicorn's `limit_concurrency` counts
connections, so 2,048 stalled ones made every route answer 503, `/healthz` included.

`guarded_protocol(limits)` is uvicorn's httptools protocol with four bounds added (each
server gets its own class and its own book of waiting connections):

- **header timeout**: a request's line and headers must be complete within
  `header_timeout` seconds of the connection opening or of the previous response's end;
  otherwise 408 (when a request had begun) and the connection is closed. Data that trickles
  in does not restart the clock.
- **keep-alive**: a connection that sends nothing is closed after `keep_alive` seconds, from
  its opening as well as after a response (uvicorn only arms it after a response).
- **header size**: a request line and headers over `max_header_bytes` get 431 and the
  connection is closed, before more than one read (at most 256 KiB) past the limit is held.
- **connection count**: beyond `max_connections` open connections, the one that has waited
  longest for its request headers is closed to make room, so a flood of stalled connections
  can never keep a new client (a probe) out; if none is waiting, the new connection is closed.

Requests in flight are bounded separately, by `InFlightLimitMiddleware`, which never refuses
the probes. Why not another server: docs/api.md ("Slow and oversized clients").
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionLimits:
    """The guard's bounds (the WATTCAST_API_* settings of the same names)."""

    header_timeout: float = 10.0
    keep_alive: int = 5
    max_header_bytes: int = 16384
    max_connections: int = 4096


class _Book:
    """The server's connections that wait for request headers, longest-waiting first."""

    def __init__(self) -> None:
        self.waiting: dict[GuardedHttpToolsProtocol, None] = {}

    def start(self, protocol: GuardedHttpToolsProtocol) -> None:
        self.waiting.pop(protocol, None)
        self.waiting[protocol] = None

    def stop(self, protocol: GuardedHttpToolsProtocol) -> None:
        self.waiting.pop(protocol, None)

    def longest_waiting(self, besides: GuardedHttpToolsProtocol) -> GuardedHttpToolsProtocol | None:
        return next((p for p in self.waiting if p is not besides), None)


class _HeadersTooLarge(Exception):
    pass


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds of the module doc."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    book: ClassVar[_Book] = _Book()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Requests in flight are limited by the app's middleware, which spares the probes.
        self.limit_concurrency = None
        self.timeout_keep_alive = self.limits.keep_alive
        self._header_timer: asyncio.TimerHandle | None = None
        self._in_headers = False  # a request has begun and its headers are not complete
        self._raw_header_bytes = 0  # bytes received while in headers (bounds the buffering)
        self._header_bytes = 0  # the request line and headers, as parsed

    # -- the connection's life ----------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            oldest = self.book.longest_waiting(besides=self)
            if oldest is None:
                logger.warning("Connection limit reached and none is idle: closing a new one.")
                transport.close()
                return
            oldest.transport.close()
        self._wait_for_headers()
        # A connection that never sends a byte is idle too: close it after the keep-alive.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.limits.keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._wait_for_headers()

    def _wait_for_headers(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(
                self.limits.header_timeout, self._header_timeout
            )
        self.book.start(self)

    def _stop_waiting(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        self.book.stop(self)

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._in_headers:
            self._refuse(
                408,
                "request_timeout",
                f"The request's headers did not arrive within {self.limits.header_timeout:g} "
                "seconds (WATTCAST_API_HEADER_TIMEOUT_SECONDS).",
            )
        else:
            self.transport.close()

    # -- reading ------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._in_headers:
            self._raw_header_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            # A callback's exception reaches here as httptools' HttpParserCallbackError.
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse_large_headers()
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_headers and self._raw_header_bytes > self.limits.max_header_bytes:
            self._refuse_large_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._raw_header_bytes = 0
        self._header_bytes = 0
        self._wait_for_headers()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # name: value\r\n
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._stop_waiting()
        super().on_headers_complete()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.limits.max_header_bytes:
            raise _HeadersTooLarge

    # -- refusing -----------------------------------------------------------------------

    def _refuse_large_headers(self) -> None:
        self._refuse(
            431,
            "headers_too_large",
            f"The request line and headers are larger than {self.limits.max_header_bytes} "
            "bytes (WATTCAST_API_MAX_HEADER_BYTES).",
        )

    def _refuse(self, status: int, code: str, detail: str) -> None:
        """An answer in the API's error shape, then the connection is closed."""
        self._in_headers = False
        self._stop_waiting()
        body = json.dumps({"detail": detail, "code": code}).encode()
        head = [STATUS_LINE[status]]
        defaults = self.server_state.default_headers
        head += [name + b": " + value + b"\r\n" for name, value in defaults]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedHttpToolsProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` with these limits and its own book."""
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"limits": limits, "book": _Book()},
    )


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process's soft limit of open files towards the hard one, so that
    `wanted` connections (and the files and Kubernetes connections beside them) fit;
    returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + 256
    if soft != resource.RLIM_INFINITY and soft < target:
        new = target if hard == resource.RLIM_INFINITY else min(target, hard)
        if new > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
    if soft != resource.RLIM_INFINITY and soft < target:
        logger.warning(
            "Only %d open files are allowed: fewer than WATTCAST_API_MAX_CONNECTIONS (%d) "
            "connections can be held.",
            soft,
            wanted,
        )
    return int(soft)
