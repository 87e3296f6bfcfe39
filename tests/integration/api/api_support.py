"""Helpers of the API's integration tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client

from wattcast.api.core.config import Settings, get_settings
from wattcast.api.main import create_app
from wattcast.crd import constants
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


class Cluster:
    """The test's view of the real API server: what exists, and status patches as the
    operator and the trainer make them."""

    def __init__(self, objects: client.CustomObjectsApi, namespace: str) -> None:
        self.objects = objects
        self.namespace = namespace

    def jobs(self) -> list[dict[str, Any]]:
        """Every TrainingJob in the namespace, straight from the API server."""
        listing = self.objects.list_namespaced_custom_object(
            constants.GROUP, constants.VERSION, self.namespace, constants.PLURAL
        )
        items: list[dict[str, Any]] = listing["items"]
        return items

    def names(self) -> list[str]:
        return sorted(o["metadata"]["name"] for o in self.jobs())

    def get(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.objects.get_namespaced_custom_object(
            constants.GROUP, constants.VERSION, self.namespace, constants.PLURAL, name
        )
        return result

    def patch_status(self, name: str, status: dict[str, Any]) -> dict[str, Any]:
        """A merge patch of the status subresource."""
        result: dict[str, Any] = self.objects.patch_namespaced_custom_object_status(
            constants.GROUP,
            constants.VERSION,
            self.namespace,
            constants.PLURAL,
            name,
            {"status": status},
            _content_type="application/merge-patch+json",
        )
        return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_process(kubeconfig: Path, namespace: str, **settings: str) -> Iterator[ApiProcess]:
    """`wattcast-api` as a process on a free loopback port, with TOKEN and `settings`
    (WATTCAST_API_* variables), ready (its /readyz answers 200) when this yields."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTCAST_API_")}
    env.update(
        WATTCAST_API_KUBECONFIG=str(kubeconfig),
        WATTCAST_API_NAMESPACE=namespace,
        WATTCAST_API_TOKENS=TOKEN,
        **settings,
    )
    port = free_port()
    script = Path(sys.executable).parent / "wattcast-api"
    proc = subprocess.Popen(
        [str(script), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    served = ApiProcess(proc, "127.0.0.1", port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "wattcast-api exited"
            assert time.monotonic() < deadline, "wattcast-api did not become ready"
            time.sleep(0.1)
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
