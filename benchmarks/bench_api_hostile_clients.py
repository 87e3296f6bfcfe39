"""Benchmark: the limits `wattcast-api` holds against slow and oversized clients, on loopback.

    .venv/bin/python benchmarks/bench_api_hostile_clients.py [--stalled 2100] [--step 300]

Starts `wattcast-emulator` and `wattcast-api` (default settings) on 127.0.0.1 and records:

- stalled connections: opens up to --stalled connections that each send half a request and
  then nothing, --step at a time, and after each step times `GET /healthz` and `GET /readyz`
  on a new connection (and counts the stalled ones the server has closed to make room);
- header size: the status of one request per header size, to find where 431 begins;
- timeouts: how long until the server closes a connection that sends nothing, one that
  trickles its headers a byte every 0.5 s, and one that sends half a body;
- memory: the API's resident memory before and after four requests with 64 MiB headers.

Bounded: at most --stalled connections (capped at 5000), each probe with a 10 s timeout, the
whole run a few minutes at most. Prints figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from wattcast.devtools.emulator.process import spawn_emulator

from wattcast.devtools.processes import free_port

BIN = Path(sys.executable).parent
TOKEN = "bench-token-" + uuid.uuid4().hex
NAMESPACE = "bench"
HOST = "127.0.0.1"
MAX_STALLED = 5000


def start_api(kubeconfig: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTCAST_API_")}
    env.update(
        WATTCAST_API_TOKENS=TOKEN,
        WATTCAST_API_KUBECONFIG=str(kubeconfig),
        WATTCAST_API_NAMESPACE=NAMESPACE,
    )
    command = [str(BIN / "wattcast-api"), "--host", HOST, "--port", str(port)]
    proc = subprocess.Popen([*command, "--log-level", "error"], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("wattcast-api did not become ready")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def connect(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def timed_get(url: str) -> tuple[int | str, float]:
    started = time.perf_counter()
    try:
        status: int | str = httpx.get(url, timeout=10).status_code
    except httpx.HTTPError as error:
        status = type(error).__name__
    return status, time.perf_counter() - started


def stalled_connections(port: int, total: int, step: int) -> None:
    base = f"http://{HOST}:{port}"
    held: list[socket.socket] = []
    print("stalled connections (half a request each, then nothing):")
    print("  held   closed by server   /healthz          /readyz")
    try:
        while len(held) < total:
            for _ in range(min(step, total - len(held))):
                try:
                    sock = connect(port)
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Stalled: 1")
                except OSError as error:
                    print(f"  could not open more: {type(error).__name__}")
                    return
                held.append(sock)
            health, health_s = timed_get(f"{base}/healthz")
            ready, ready_s = timed_get(f"{base}/readyz")
            closed = sum(closed_by_server(sock) for sock in held)
            print(
                f"  {len(held):5d}  {closed:16d}   {health} in {health_s * 1000:6.1f} ms"
                f"   {ready} in {ready_s * 1000:6.1f} ms"
            )
    finally:
        for sock in held:
            sock.close()


def header_sizes(port: int) -> None:
    print("header size (one X-Pad header; the request line and Host add about 40 bytes):")
    for size in (8192, 16000, 16300, 16384, 32768, 65536, 1024 * 1024):
        with connect(port) as sock:
            head = b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Pad: " + b"a" * size + b"\r\n\r\n"
            with contextlib.suppress(OSError):
                sock.sendall(head)
            try:
                answer = sock.recv(64)
            except OSError:
                answer = b""
        status = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/") else "closed"
        print(f"  {size:8d} bytes: {status}")


def time_until_closed(port: int, what: str, send: bytes, trickle: bytes = b"") -> None:
    with connect(port) as sock:
        sock.settimeout(60)
        started = time.monotonic()
        if send:
            sock.sendall(send)
        answer = b""
        for byte in trickle:
            sock.setblocking(False)
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                chunk = None
            except OSError:
                break
            if chunk is not None:
                answer += chunk
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.5)
        sock.setblocking(True)
        sock.settimeout(60)
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
        took = time.monotonic() - started
    status = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/") else "no answer"
    print(f"  {what:38s} closed after {took:5.1f} s ({status})")


def timeouts(port: int) -> None:
    print("time until the server closes a slow connection:")
    time_until_closed(port, "sends nothing", b"")
    time_until_closed(
        port,
        "trickles headers, a byte per 0.5 s",
        b"GET /healthz HTTP/1.1\r\nHost: api\r\n",
        trickle=b"X-Slow: " + b"a" * 200,
    )
    time_until_closed(
        port,
        "sends half a body",
        b"POST /v1/trainingjobs HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer "
        + TOKEN.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n")
        sock.recv(65536)
        started = time.monotonic()
        with contextlib.suppress(OSError):
            while sock.recv(65536):
                pass
        print(
            f"  {'idle after a response (keep-alive)':38s} closed after "
            f"{time.monotonic() - started:5.1f} s"
        )


def big_headers(port: int, pid: int) -> None:
    before = rss_mib(pid)
    statuses = []
    chunk = b"a" * (1024 * 1024)
    for _ in range(4):
        with connect(port) as sock:
            with contextlib.suppress(OSError):
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Huge: ")
                for _ in range(64):
                    sock.sendall(chunk)
            try:
                answer = sock.recv(64)
            except OSError:
                answer = b""
        statuses.append(answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/") else "-")
    time.sleep(1)
    after = rss_mib(pid)
    print(
        f"memory: RSS {before:.0f} MiB before, {after:.0f} MiB after four 64 MiB headers "
        f"(answers {', '.join(statuses)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stalled", type=int, default=2100)
    parser.add_argument("--step", type=int, default=300)
    args = parser.parse_args()
    total = max(1, min(args.stalled, MAX_STALLED))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, total + 512)), hard))
    with tempfile.TemporaryDirectory(prefix="bench-api-hostile-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        emulator, _ = spawn_emulator(kubeconfig, namespaces=[NAMESPACE])
        port = free_port()
        api = start_api(kubeconfig, port)
        try:
            print("wattcast-api with its default limits (header timeout 10 s, keep-alive 5 s,")
            print("body timeout 10 s, 16384 header bytes, 4096 connections, 1024 requests)")
            header_sizes(port)
            big_headers(port, api.pid)
            timeouts(port)
            stalled_connections(port, total, max(1, args.step))
        finally:
            api.terminate()
            api.wait(15)
            emulator.terminate()
            emulator.wait(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
