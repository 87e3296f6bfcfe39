"""Helpers of the API's integration tests (imported by conftest.py and the tests)."""

from __future__ import annotations

from typing import Any

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
