"""Helpers for the process kubelet's tests on the real control plane (session `devcluster`).

`Pods` makes pods and Jobs in the test's namespace and waits on them (positive barriers,
bounded in time). Every test ends with no process of its pods left on the machine.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from testkit import wait_for

from wattcast.devtools.cluster.kubelet import ProcessKubelet

T = TypeVar("T")
TIMEOUT = 60.0


def sandboxes(namespace: str = "") -> list[int]:
    """Pids of bubblewrap processes this test process started (for pods of `namespace`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = (
            stat[stat.index("(") + 1 : stat.rindex(")")],
            stat[stat.rindex(")") + 2 :].split(),
        )
        if comm != "bwrap" or int(rest[1]) != os.getpid():
            continue
        try:
            log = os.readlink(entry / "fd" / "1")
        except OSError:
            continue
        if Path(log).name.startswith(f"{namespace}_"):
            found.append(int(entry.name))
    return found


class Pods:
    """Pods and Jobs of one test's namespace."""

    def __init__(self, api: client.ApiClient, namespace: str, kubelet: ProcessKubelet) -> None:
        self.core = client.CoreV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.namespace = namespace
        self.kubelet = kubelet
        wait_for(
            "the namespace's default ServiceAccount",
            lambda: self._exists(self.core.read_namespaced_service_account, "default"),
        )

    def _exists(self, read: Callable[..., Any], name: str) -> bool:
        try:
            read(name, self.namespace)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    @staticmethod
    def spec(
        script: str, *, restart: str = "Never", grace: int = 5, **extra: Any
    ) -> dict[str, Any]:
        container = {"name": "main", "image": "debian:bookworm", "command": ["sh", "-c", script]}
        container.update(extra.pop("container", {}))
        return {
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": grace,
            "containers": [container],
            **extra,
        }

    def create(self, script: str, name: str | None = None, **spec: Any) -> str:
        name = name or f"p-{uuid.uuid4().hex[:6]}"
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": self.spec(script, **spec),
        }
        self.core.create_namespaced_pod(self.namespace, body)
        return name

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            answer = self.core.read_namespaced_pod(name, self.namespace, _preload_content=False)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return dict(json.loads(answer.data))

    def list(self, selector: str = "") -> list[dict[str, Any]]:
        answer = self.core.list_namespaced_pod(
            self.namespace, label_selector=selector, _preload_content=False
        )
        return list(json.loads(answer.data)["items"])

    def phase(self, name: str, *phases: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            pod = self.get(name)
            return pod if pod and pod.get("status", {}).get("phase") in phases else None

        return wait_for(f"pod {name} in {phases}", probe, timeout)

    def gone(self, name: str, timeout: float = TIMEOUT) -> None:
        wait_for(f"pod {name} deleted", lambda: self.get(name) is None, timeout)

    def log(self, name: str) -> str:
        path = self.kubelet.log_path(self.namespace, name)
        return path.read_text() if path.exists() else ""

    def job(self, name: str, template_spec: dict[str, Any], **spec: Any) -> None:
        body = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {"template": {"spec": template_spec}, **spec},
        }
        self.batch.create_namespaced_job(self.namespace, body)

    def job_condition(self, name: str, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            answer = self.batch.read_namespaced_job(name, self.namespace, _preload_content=False)
            conditions = json.loads(answer.data).get("status", {}).get("conditions") or []
            return next(
                (c for c in conditions if c["type"] == kind and c["status"] == "True"), None
            )

        return wait_for(f"job {name} condition {kind}", probe, timeout)
