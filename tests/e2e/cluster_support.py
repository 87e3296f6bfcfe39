"""Helpers of the real-cluster tests (tests/e2e/test_cluster_*.py, marked ``cluster``).

They run only when a cluster is configured (docs/local-stack.md, "Real cluster"):

- ``WATTCAST_TEST_CLUSTER=1`` and a kubeconfig whose current context reaches the cluster,
  with the chart installed (the TrainingJob CRD and a running operator);
- ``WATTCAST_TEST_NAMESPACE``: the training namespace (default ``wattcast``);
- ``WATTCAST_TEST_INFLUX_URL``: the InfluxDB 1.x the operator's default source reads, as
  this machine reaches it (a port-forward), with ``WATTCAST_TEST_INFLUX_DATABASE`` (default
  ``energy``) and ``WATTCAST_TEST_INFLUX_TOKEN`` (``user:password``, if auth is on): the tests
  write their meters there;
- optional ``WATTCAST_TEST_API_URL`` / ``WATTCAST_TEST_API_TOKEN`` (a port-forward of the API)
  for the REST scenarios, ``WATTCAST_TEST_OFFLINE_SOURCE`` (the name of a configured source
  nobody listens on) for the InfluxDB-down drill, and ``WATTCAST_TEST_OPERATOR_DEPLOYMENT``
  (default ``wattcast-operator`` in the namespace) for the restart drill.

Everything goes through kubectl (the user's tool and credentials) and plain HTTP.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from testkit import tj_body, wait_for

from wattcast.devtools.testbed.influx import write_meter
from wattcast.devtools.testbed.synthetic import generate_meter

START = datetime(2024, 3, 4, tzinfo=UTC)
DAYS = 28
TINY_MODEL = {"epochs": 1, "holdoutDays": 3, "lookbackHours": 24}
TIMEOUT_S = 600.0


def kubectl_binary() -> str | None:
    local = Path(sys.executable).with_name("kubectl")
    return str(local) if local.exists() else shutil.which("kubectl")


def skip_reason() -> str | None:
    """Why the cluster tests cannot run here, or None when they can."""
    if os.environ.get("WATTCAST_TEST_CLUSTER") != "1":
        return (
            "no real cluster configured: set WATTCAST_TEST_CLUSTER=1 with a kubeconfig "
            "context and WATTCAST_TEST_INFLUX_URL (docs/local-stack.md, Real cluster)"
        )
    kubectl = kubectl_binary()
    if kubectl is None:
        return "kubectl is not installed: run `make setup`"
    probe = subprocess.run(
        [kubectl, "get", "crd", "trainingjobs.wattcast.dev", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        return f"the cluster is not reachable or has no TrainingJob CRD: {probe.stderr.strip()}"
    if not os.environ.get("WATTCAST_TEST_INFLUX_URL"):
        return "WATTCAST_TEST_INFLUX_URL is not set (the InfluxDB the tests write meters to)"
    return None


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class Cluster:
    """A real cluster through kubectl, and its InfluxDB and API through HTTP."""

    def __init__(self) -> None:
        kubectl = kubectl_binary()
        assert kubectl is not None
        self.kubectl_path = kubectl
        self.namespace = os.environ.get("WATTCAST_TEST_NAMESPACE", "wattcast")
        self.influx_url = os.environ["WATTCAST_TEST_INFLUX_URL"]
        self.database = os.environ.get("WATTCAST_TEST_INFLUX_DATABASE", "energy")
        token = os.environ.get("WATTCAST_TEST_INFLUX_TOKEN")
        self.influx_auth: tuple[str, str] | None = None
        if token and ":" in token:
            user, _, password = token.partition(":")
            self.influx_auth = (user, password)
        self.api_url = os.environ.get("WATTCAST_TEST_API_URL")
        self.api_token = os.environ.get("WATTCAST_TEST_API_TOKEN")
        self.offline_source = os.environ.get("WATTCAST_TEST_OFFLINE_SOURCE")
        self.operator_deployment = os.environ.get(
            "WATTCAST_TEST_OPERATOR_DEPLOYMENT", "wattcast-operator"
        )

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        done = subprocess.run(
            [self.kubectl_path, "-n", self.namespace, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
        return done.stdout

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def load_meter(self, meter_id: str, days: int = DAYS) -> None:
        frame = generate_meter("household", start=START, end=START + timedelta(days=days), seed=7)
        write_meter(
            self.influx_url,
            self.database,
            "electricity",
            meter_id,
            frame,
            auth=self.influx_auth,
        )

    def apply_tj(self, name: str, meter_id: str, **spec: Any) -> None:
        body = tj_body(
            name,
            namespace=self.namespace,
            meterId=meter_id,
            start=stamp(START),
            end=stamp(START + timedelta(days=DAYS)),
            model=TINY_MODEL,
            **spec,
        )
        self.kubectl("apply", "-f", "-", stdin=json.dumps(body))

    def tj(self, name: str) -> dict[str, Any] | None:
        out = self.kubectl("get", "tj", name, "-o", "json", "--ignore-not-found", check=False)
        return json.loads(out) if out.strip() else None

    def status(self, name: str) -> dict[str, Any]:
        return dict((self.tj(name) or {}).get("status") or {})

    def wait_phase(self, name: str, phases: set[str], timeout: float = TIMEOUT_S) -> dict[str, Any]:
        found: dict[str, Any] = wait_for(
            f"{name} to reach {sorted(phases)}",
            lambda: (status := self.status(name)).get("phase") in phases and status,
            timeout,
            interval=2,
        )
        return found

    def jobs_of(self, name: str) -> list[dict[str, Any]]:
        return list(self.get_json("jobs", "-l", f"wattcast.dev/trainingjob={name}")["items"])

    def pods_of(self, name: str) -> list[dict[str, Any]]:
        return list(self.get_json("pods", "-l", f"job-name={name}")["items"])

    def api(self) -> httpx.Client:
        if not self.api_url:
            pytest.skip("WATTCAST_TEST_API_URL is not set (a port-forward of the API)")
        headers = {"Authorization": f"Bearer {self.api_token}"} if self.api_token else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30)


def failed_reason(status: dict[str, Any]) -> str | None:
    return next(
        (
            c["reason"]
            for c in status.get("conditions") or []
            if c["type"] == "Failed" and c["status"] == "True"
        ),
        None,
    )
