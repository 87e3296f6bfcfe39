"""Helpers of the end-to-end tests (a module name no other test directory uses).

`E2E` drives the local stack the way users do (REST, kubectl) and reads what Kubernetes shows
(Jobs, pods) over HTTP. Trainings are kept tiny: 28 days of hourly data (the least the
trainer takes: two weeks of feature warm-up, a week of targets, the holdout), 1 epoch, a 24 h
lookback and a 3-day holdout, so one takes seconds (most of it loading TensorFlow).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client
from testkit import wait_for

from wattcast.devtools.cluster.access import api_client
from wattcast.devtools.stack import LocalStack
from wattcast.devtools.testbed.synthetic import generate_meter

START = datetime(2024, 3, 4, tzinfo=UTC)
TINY_DAYS = 28
TINY_MODEL = {"epochs": 1, "holdoutDays": 3, "lookbackHours": 24}
FINAL = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
TRAINING_TIMEOUT_S = 240.0
KUBECTL = Path(sys.executable).with_name("kubectl")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def tiny_range(days: int = TINY_DAYS) -> tuple[str, str]:
    return stamp(START), stamp(START + timedelta(days=days))


class E2E:
    """The stack as the tests use it."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.http = httpx.Client(
            base_url=stack.api_url,
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=30,
        )
        self.kube = api_client(stack.kubeconfig)
        self.batch = client.BatchV1Api(self.kube)
        self.core = client.CoreV1Api(self.kube)
        self.objects = client.CustomObjectsApi(self.kube)
        self.loaded: set[tuple[str, str]] = set()

    def close(self) -> None:
        self.http.close()
        self.kube.close()  # type: ignore[no-untyped-call]

    # --- data -----------------------------------------------------------------------------

    def load_meter(
        self, meter_id: str, meter_type: str = "electricity", days: int = TINY_DAYS
    ) -> None:
        """Write `days` of synthetic hourly readings for the meter (once per session)."""
        if (meter_id, meter_type) in self.loaded:
            return
        profile = "water" if meter_type == "water" else "household"
        frame = generate_meter(
            profile, start=START, end=START + timedelta(days=days), seed=abs(hash(meter_id)) % 1000
        )
        self.stack.write_meter(meter_type, meter_id, frame)
        self.loaded.add((meter_id, meter_type))

    # --- REST ------------------------------------------------------------------------------

    def submit_seed(self, meter_id: str, meter_type: str, start: str, end: str) -> dict[str, Any]:
        response = self.http.post(
            "/trainmodel/v2/",
            json={
                "meter_id": meter_id,
                "meter_type": meter_type,
                "start_date": start,
                "end_date": end,
            },
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def seed_status(self, task_id: str) -> dict[str, Any]:
        response = self.http.get(f"/trainmodel/status/{task_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def create(self, meter_id: str, **spec: Any) -> str:
        """POST /v1/trainingjobs with a tiny model unless the spec says otherwise."""
        start, end = tiny_range()
        body = {
            "meterId": meter_id,
            "meterType": "electricity",
            "start": start,
            "end": end,
            "model": TINY_MODEL,
            **spec,
        }
        response = self.http.post("/v1/trainingjobs", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["name"])

    def get(self, name: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/trainingjobs/{name}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def act(self, name: str, action: str) -> dict[str, Any]:
        response = self.http.post(f"/v1/trainingjobs/{name}/{action}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_status(
        self, name: str, words: Iterable[str], timeout: float = TRAINING_TIMEOUT_S
    ) -> dict[str, Any]:
        wanted = set(words)
        found: dict[str, Any] = wait_for(
            f"{name} to reach {sorted(wanted)}",
            lambda: (job := self.get(name))["taskStatus"] in wanted and job,
            timeout,
            logs=self.stack.logs,
        )
        return found

    def wait_final(self, name: str, timeout: float = TRAINING_TIMEOUT_S) -> dict[str, Any]:
        return self.wait_status(name, FINAL, timeout)

    def wait_success(self, name: str, timeout: float = TRAINING_TIMEOUT_S) -> dict[str, Any]:
        """Wait for the end and insist on SUCCESS, with the reason and the logs otherwise."""
        final = self.wait_final(name, timeout)
        if final["taskStatus"] != "SUCCESS":
            raise AssertionError(
                f"{name} ended {final['taskStatus']}: {final.get('message')}\n{self.stack.logs()}"
            )
        return final

    # --- Kubernetes ------------------------------------------------------------------------

    def jobs_of(self, name: str, namespace: str = "default") -> list[dict[str, Any]]:
        listing = self.batch.list_namespaced_job(
            namespace, label_selector=f"wattcast.dev/trainingjob={name}"
        )
        return [self.kube.sanitize_for_serialization(job) for job in listing.items]

    def pods_of(self, name: str, namespace: str = "default") -> list[dict[str, Any]]:
        listing = self.core.list_namespaced_pod(namespace, label_selector=f"job-name={name}")
        return [self.kube.sanitize_for_serialization(pod) for pod in listing.items]

    def trainingjob(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.objects.get_namespaced_custom_object(
                "wattcast.dev", "v1alpha1", namespace, "trainingjobs", name
            )
        except client.exceptions.ApiException as error:
            if error.status == 404:
                return None
            raise
        return found

    def running_pods(self, namespace: str = "default") -> dict[str, int]:
        """`namespace/pod` -> process id of the pods running now (the kubelet's view)."""
        kubelet = self.stack.cluster.kubelet
        return {} if kubelet is None else dict(kubelet.running(namespace))

    def running_pid(self, name: str, namespace: str = "default") -> int | None:
        """The process id of TrainingJob `name`'s running trainer pod, if one runs."""
        prefix = f"{namespace}/{name}-"
        return next(
            (pid for pod, pid in self.running_pods(namespace).items() if pod.startswith(prefix)),
            None,
        )

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KUBECTL), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "KUBECONFIG": str(self.stack.kubeconfig)},
            check=False,
        )


def condition(job: dict[str, Any], type_: str) -> dict[str, Any] | None:
    """A True condition of a TrainingJobPublic's status."""
    return next(
        (
            c
            for c in ((job.get("status") or {}).get("conditions") or [])
            if c["type"] == type_ and c["status"] == "True"
        ),
        None,
    )


WATTCAST = Path(sys.executable).with_name("wattcast")


def cli(e2e: E2E, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WATTCAST_API_URL": e2e.stack.api_url,
        "WATTCAST_API_TOKEN": e2e.stack.token,
    }
    return subprocess.run(
        [str(WATTCAST), *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )
