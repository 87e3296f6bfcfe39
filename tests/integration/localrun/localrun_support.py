"""Helpers of the local runner's integration tests (a module name no other directory uses).

`Cluster` is the emulated API server seen through raw HTTP (the runner's own client), with
what the tests do to Jobs, pods and Secrets; `job_body` builds a Job whose container runs a
small Python program instead of the trainer, so each behaviour of the runner is checked in
well under a second.
"""

from __future__ import annotations

import base64
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wattcast.devtools.jobcontroller import KubeHttp

MERGE = {"Content-Type": "application/merge-patch+json"}
WAIT_S = 20.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT_S, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent has not reaped it yet).
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def job_body(
    name: str,
    code: str,
    *,
    env: list[dict[str, Any]] | None = None,
    backoff_limit: int = 0,
    **spec: Any,
) -> dict[str, Any]:
    """A Job shaped like the operator's (docs/design.md §3.1) whose container runs `code`."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "podFailurePolicy": {
                "rules": [
                    {
                        "action": "FailJob",
                        "onExitCodes": {
                            "containerName": "trainer",
                            "operator": "In",
                            "values": [2],
                        },
                    },
                    {
                        "action": "Ignore",
                        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
                    },
                ]
            },
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "wattcast"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "trainer",
                            "image": "wattcast-trainer:test",
                            "command": [sys.executable, "-c", code],
                            "env": [
                                {"name": "WATTCAST_MODELS_DIR", "value": "/models"},
                                *(env or []),
                            ],
                            "volumeMounts": [
                                {"name": "models", "mountPath": "/models"},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                        }
                    ],
                    "volumes": [
                        {"name": "models", "persistentVolumeClaim": {"claimName": "models"}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
            **spec,
        },
    }


class Cluster:
    """The emulated API server, as the tests use it."""

    def __init__(self, kubeconfig: Path) -> None:
        self.http = KubeHttp(kubeconfig)

    def create_namespace(self, name: str) -> None:
        self.http.request("POST", "/api/v1/namespaces", body={"metadata": {"name": name}})

    def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        created = self.http.request(
            "POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", body=body
        )
        assert created is not None
        return created

    def job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.http.request(
            "GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}", allow=(404,)
        )

    def status(self, namespace: str, name: str) -> dict[str, Any]:
        return dict((self.job(namespace, name) or {}).get("status") or {})

    def suspend(self, namespace: str, name: str, value: bool) -> None:
        self.http.request(
            "PATCH",
            f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}",
            body={"spec": {"suspend": value}},
            headers=MERGE,
        )

    def delete_job(self, namespace: str, name: str) -> None:
        self.http.request(
            "DELETE",
            f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}",
            body={"propagationPolicy": "Background"},
        )

    def pods(self, namespace: str, job: str) -> list[dict[str, Any]]:
        listing = self.http.request(
            "GET",
            f"/api/v1/namespaces/{namespace}/pods",
            params={"labelSelector": f"job-name={job}"},
        )
        items: list[dict[str, Any]] = (listing or {}).get("items") or []
        return sorted(
            items, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"])
        )

    def patch_pod_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.http.request(
            "PATCH",
            f"/api/v1/namespaces/{namespace}/pods/{name}/status",
            body={"status": status},
            headers=MERGE,
        )

    def create_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self.http.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/secrets",
            body={
                "metadata": {"name": name},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            },
        )

    def condition(self, namespace: str, name: str, type_: str) -> dict[str, Any] | None:
        return next(
            (
                c
                for c in self.status(namespace, name).get("conditions") or []
                if c["type"] == type_ and c["status"] == "True"
            ),
            None,
        )

    def wait_condition(
        self, namespace: str, name: str, type_: str, timeout: float = WAIT_S
    ) -> dict[str, Any]:
        found: dict[str, Any] = wait_for(
            lambda: self.condition(namespace, name, type_), timeout, f"{name} {type_}"
        )
        return found

    def close(self) -> None:
        self.http.close()


def terminated(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return dict((statuses[0].get("state") or {}).get("terminated") or {})
