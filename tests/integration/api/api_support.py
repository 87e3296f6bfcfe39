"""Helpers of the API's integration tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from testkit import free_port, wait_for

from wattcast.api.core.config import Settings, get_settings
from wattcast.api.main import create_app
from wattcast.devtools import serving

TOKEN = "integration-token-5d1f"
SEED_BODY: dict[str, Any] = {
    "meter_id": "meter1",
    "meter_type": "electricity",
    "start_date": "2023-01-01T00:00:00Z",
    "end_date": "2023-12-31T23:59:59Z",
}


class ServedApp(serving.ServedApp):
    """The API app (with `settings` overriding the cached ones) served on a loopback port.

    `requests` lists the (method, path) of every HTTP request it got, in order: what a client
    such as the CLI asked for.
    """

    def __init__(self, settings: Settings) -> None:
        app = create_app()
        app.dependency_overrides[get_settings] = lambda: settings
        self.requests: list[tuple[str, str]] = []

        async def recording(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.requests.append((scope["method"], scope["path"]))
            await app(scope, receive, send)

        super().__init__(recording)


@contextmanager
def served_client(settings: Settings, timeout: float = 30) -> Iterator[httpx.Client]:
    """The API app with `settings`, served on loopback, and a client that holds TOKEN."""
    served = ServedApp(settings).start()
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=served.url, headers=headers, timeout=timeout) as client:
            yield client
    finally:
        served.stop()


def _ready(served: ApiProcess) -> bool:
    assert served.proc.poll() is None, "wattcast-api exited"
    try:
        return httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def api_process(kubeconfig: Path, namespace: str, **settings: str) -> Iterator[ApiProcess]:
    """`wattcast-api` as a process on a free loopback port, with TOKEN and `settings`
    (WATTCAST_API_* variables), ready (its /readyz answers 200) when this yields."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTCAST_API_")}
    env.update(
        WATTCAST_API_KUBECONFIG=str(kubeconfig),
        WATTCAST_API_NAMESPACE=namespace,
        WATTCAST_API_TOKENS=TOKEN,
    )
    env.update(settings)
    port = free_port()
    script = Path(sys.executable).parent / "wattcast-api"
    proc = subprocess.Popen(
        [str(script), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    served = ApiProcess(proc, "127.0.0.1", port)
    try:
        wait_for("wattcast-api to be ready", lambda: _ready(served), 60, interval=0.1)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ApiProcess:
    def __init__(self, proc: subprocess.Popen[bytes], host: str, port: int) -> None:
        self.proc = proc
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"

    def rss_bytes(self) -> int:
        """The process's resident memory, from /proc."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


@dataclass(frozen=True)
class Event:
    event: str
    data: Any
    id: str | None


def events(response: httpx.Response) -> Iterator[Event]:
    """Parse text/event-stream (comments such as keep-alive pings are skipped)."""
    kind, data, ident = "message", [], None
    for line in response.iter_lines():
        if line == "":
            if data:
                yield Event(kind, json.loads("\n".join(data)), ident)
            kind, data, ident = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                kind = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                ident = value
