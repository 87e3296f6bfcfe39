"""Slow and oversized clients cannot take `wattcast-api` down (the real console script, as a
process on loopback, against the emulated API server).

- a client that trickles its headers is answered 408 and disconnected after the header
  timeout, however steadily it trickles;
- an idle connection is closed after the keep-alive, before its first request as well as
  after a response;
- a request line or headers over the limit get 431, and memory stays bounded even for
  64 MiB headers;
- a body that does not arrive in time gets 408 and creates nothing;
- /healthz, /readyz and /metrics answer while hundreds of stalled connections are held, past
  the connection limit too, and while requests in flight are at their limit.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import TOKEN, ApiProcess, api_process
from kubernetes import client, config
from testkit import TrainingJobs

from wattcast.devtools.cluster.access import create_namespace, delete_namespace
from wattcast.devtools.cluster.chart import ChartIdentities

HEADER_TIMEOUT = 2.0
KEEP_ALIVE = 1
MAX_HEADER_BYTES = 16384
# Generous: the machine may be busy; the lower bounds are what the limits promise.
SLACK = 8.0
STALLED = 300


@pytest.fixture(scope="module")
def module_namespace(kube: client.ApiClient, chart_identities: ChartIdentities) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    create_namespace(kube, name)
    chart_identities.grant(name, "api")
    try:
        yield name
    finally:
        delete_namespace(kube, name)


@pytest.fixture(scope="module")
def served(api_kubeconfig: Path, module_namespace: str) -> Iterator[ApiProcess]:
    """One API process for the tests that leave it as they found it (its start is slow)."""
    with api_process(
        api_kubeconfig,
        module_namespace,
        WATTCAST_API_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        WATTCAST_API_KEEP_ALIVE_SECONDS=str(KEEP_ALIVE),
        WATTCAST_API_BODY_TIMEOUT_SECONDS="2",
    ) as process:
        yield process


@pytest.fixture
def served_cluster(kubeconfig: Path, module_namespace: str) -> Iterator[TrainingJobs]:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with client.ApiClient(configuration) as api_client:
        yield TrainingJobs(client.CustomObjectsApi(api_client), module_namespace)


def _connect(served: ApiProcess) -> socket.socket:
    sock = socket.create_connection((served.host, served.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body)."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return received
        if not chunk:
            return received
        received += chunk


def _healthy(served: ApiProcess) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as fresh:
        assert fresh.get("/healthz").status_code == 200
        assert fresh.get("/readyz").status_code == 200
        assert fresh.get("/metrics").status_code == 200
        listed = fresh.get("/v1/trainingjobs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert listed.status_code == 200


def test_a_client_trickling_its_headers_is_cut_off_after_the_header_timeout(
    served: ApiProcess,
) -> None:
    with _connect(served) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\n")
        # One header byte every 0.1 s: each would have restarted uvicorn's keep-alive timer.
        for byte in b"X-Slow: " + b"a" * 400:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
            if time.monotonic() - started > HEADER_TIMEOUT + SLACK:
                break
        answer = _read_until_closed(sock)
        cut_off_after = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"code": "request_timeout"' in answer
    assert HEADER_TIMEOUT - 0.2 <= cut_off_after < HEADER_TIMEOUT + SLACK
    _healthy(served)


def test_an_idle_keep_alive_connection_is_closed(served: ApiProcess) -> None:
    with _connect(served) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
        answered = time.monotonic()
        assert _read_until_closed(sock) == b""
        assert KEEP_ALIVE - 0.2 <= time.monotonic() - answered < KEEP_ALIVE + SLACK


def test_a_connection_that_never_sends_a_byte_is_closed_after_the_keep_alive(
    served: ApiProcess,
) -> None:
    with _connect(served) as sock:
        opened = time.monotonic()
        assert _read_until_closed(sock) == b""  # closed without an answer: nothing was asked
        assert KEEP_ALIVE - 0.2 <= time.monotonic() - opened < HEADER_TIMEOUT + SLACK


@pytest.mark.parametrize(
    "request_head",
    [
        b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n",
        b"GET /healthz?" + b"q" * 65536 + b" HTTP/1.1\r\nHost: api\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: api\r\n"
        + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 90) for i in range(400))
        + b"\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Just-Over: "
        + b"a" * (MAX_HEADER_BYTES - 30)
        + b"\r\n\r\n",
    ],
    ids=["one-64k-header", "64k-url", "many-small-headers", "just-over-the-limit"],
)
def test_headers_over_the_limit_get_431(served: ApiProcess, request_head: bytes) -> None:
    with _connect(served) as sock:
        # The server may answer and close before the rest is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request_head)
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"code": "headers_too_large"' in answer
    _healthy(served)


def test_headers_under_the_limit_are_served(served: ApiProcess) -> None:
    padding = "a" * (MAX_HEADER_BYTES - 1024)
    with httpx.Client(base_url=served.url, timeout=10) as c:
        assert c.get("/healthz", headers={"X-Padding": padding}).status_code == 200


def test_64_mib_headers_leave_memory_bounded(served: ApiProcess) -> None:
    _healthy(served)
    before = served.rss_bytes()
    chunk = b"a" * (1024 * 1024)
    for _ in range(4):
        with _connect(served) as sock:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Huge: ")
                for _ in range(64):
                    sock.sendall(chunk)
            answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    after = served.rss_bytes()
    assert after - before < 16 * 1024 * 1024, (before, after)
    _healthy(served)


def test_a_body_that_does_not_arrive_in_time_gets_408_and_creates_nothing(
    served: ApiProcess, served_cluster: TrainingJobs
) -> None:
    with _connect(served) as sock:
        sock.sendall(
            b"POST /v1/trainingjobs HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer "
            + TOKEN.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            + b'{"meterId": "meter1",'
        )
        started = time.monotonic()
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert time.monotonic() - started >= 2 - 0.2
    assert served_cluster.items() == []


def _stall(served: ApiProcess, count: int) -> list[socket.socket]:
    """`count` connections that each sent half a request and then nothing."""
    stalled = []
    for i in range(count):
        sock = _connect(served)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Stalled: %d" % i)
        stalled.append(sock)
    return stalled


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_probes_answer_while_hundreds_of_stalled_connections_are_held(
    api_kubeconfig: Path, chart_identities: ChartIdentities, namespace: str
) -> None:
    chart_identities.grant(namespace, "api")
    # A long header timeout: the stalled connections stay for the whole test.
    with api_process(api_kubeconfig, namespace, WATTCAST_API_HEADER_TIMEOUT_SECONDS="60") as served:
        stalled = _stall(served, STALLED)
        try:
            _healthy(served)
            assert not any(_closed_by_server(sock) for sock in stalled)
        finally:
            for sock in stalled:
                sock.close()


def test_past_the_connection_limit_the_longest_stalled_make_room(
    api_kubeconfig: Path, chart_identities: ChartIdentities, namespace: str
) -> None:
    chart_identities.grant(namespace, "api")
    limit = 64
    with api_process(
        api_kubeconfig,
        namespace,
        WATTCAST_API_HEADER_TIMEOUT_SECONDS="60",
        WATTCAST_API_MAX_CONNECTIONS=str(limit),
    ) as served:
        stalled = _stall(served, STALLED)
        try:
            _healthy(served)
            deadline = time.monotonic() + SLACK
            while True:
                closed = [_closed_by_server(sock) for sock in stalled]
                if sum(closed) >= STALLED - limit or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert sum(closed) >= STALLED - limit
            # The first ones waited longest: they went first.
            assert all(closed[: STALLED - limit - 10])
            assert not any(closed[-(limit // 2) :])
        finally:
            for sock in stalled:
                sock.close()


def test_probes_answer_while_requests_in_flight_are_at_their_limit(
    api_kubeconfig: Path, chart_identities: ChartIdentities, namespace: str
) -> None:
    chart_identities.grant(namespace, "api")
    with api_process(api_kubeconfig, namespace, WATTCAST_API_MAX_REQUESTS="2") as served:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        opened = threading.Barrier(3, timeout=30)
        stop = threading.Event()

        def hold_a_stream() -> None:
            with (
                httpx.Client(base_url=served.url, timeout=30) as c,
                c.stream("GET", "/v1/events", headers=auth) as stream,
            ):
                assert stream.status_code == 200
                opened.wait()
                stop.wait(30)

        holders = [threading.Thread(target=hold_a_stream) for _ in range(2)]
        for holder in holders:
            holder.start()
        try:
            opened.wait()
            with httpx.Client(base_url=served.url, timeout=10) as c:
                busy = c.get("/v1/trainingjobs", headers=auth)
                assert busy.status_code == 503
                assert busy.headers["Retry-After"] == "5"
                assert busy.json()["code"] == "unavailable"
                assert c.get("/healthz").status_code == 200
                assert c.get("/readyz").status_code == 200
                assert c.get("/metrics").status_code == 200
        finally:
            stop.set()
            for holder in holders:
                holder.join(30)
