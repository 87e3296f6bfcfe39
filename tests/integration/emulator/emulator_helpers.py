"""Helpers shared by the emulator conformance tests (a plain module: tests import it)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import requests

GROUP, VERSION, PLURAL = "wattcast.dev", "v1alpha1", "trainingjobs"

# make_tj(name=None, **spec) -> the stored TrainingJob (the fixture in conftest.py)
MakeTJ = Callable[..., dict[str, Any]]


class Raw:
    """Plain HTTP against the emulator, for what the client cannot express."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url + path, **kwargs)

    def tj_path(self, namespace: str, name: str = "", sub: str = "") -> str:
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
        if name:
            path += f"/{name}"
        if sub:
            path += f"/{sub}"
        return path


def unique(prefix: str = "tj") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def tj_body(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "meterId": "meter1",
        "meterType": "electricity",
        "start": "2023-01-01T00:00:00Z",
        "end": "2023-12-31T00:00:00Z",
    }
    body.update(spec)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TrainingJob",
        "metadata": {"name": name},
        "spec": body,
    }


def message(exc: Any) -> str:
    """The Status message of a kubernetes client ApiException."""
    return str(json.loads(exc.body)["message"])
