"""Helpers of the API's integration tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from kubernetes import client

from wattcast.api.core.config import Settings, get_settings
from wattcast.api.main import create_app
from wattcast.crd import constants

TOKEN = "integration-token-5d1f"
SEED_BODY: dict[str, Any] = {
    "meter_id": "meter1",
    "meter_type": "electricity",
    "start_date": "2023-01-01T00:00:00Z",
    "end_date": "2023-12-31T23:59:59Z",
}


class ServedApp:
    """The app under uvicorn in a daemon thread, on a loopback port of its own."""

    def __init__(self, settings: Settings) -> None:
        app = create_app()
        app.dependency_overrides[get_settings] = lambda: settings
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, log_level="warning", ws="none", lifespan="on", timeout_graceful_shutdown=2
            )
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def start(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.socket.close()


class Cluster:
    """The test's view of the emulated API server: what exists, and status patches as the
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
