"""Helpers of the chart's install tests: helm and kubectl against the session dev cluster.

The chart is installed with its real templates by the project's `helm` (make setup puts it in
.venv/bin). The process kubelet runs the Deployments' pods from the project's environment:
their images are not pulled, their commands (`wattcast-operator`, `wattcast-api`, and the
trainer's `wattcast-trainer`) are the project's console scripts.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from wattcast.devtools.processes import bin_path, repo_root

CHART = repo_root() / "charts" / "wattcast"
RELEASE = "wattcast"
CRD = "trainingjobs.wattcast.dev"


class Tools:
    """helm and kubectl of the project, with the dev cluster's admin kubeconfig."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        self.kubeconfig, self.namespace = kubeconfig, namespace
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HELM_NO_PLUGINS": "1"}

    def run(
        self, tool: str, *args: str, stdin: str | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [bin_path(tool), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=repo_root(),
            timeout=timeout,
            check=False,
        )

    def helm(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return self.run("helm", *args, "--namespace", self.namespace, timeout=timeout)

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("kubectl", "--namespace", self.namespace, *args, stdin=stdin)

    def get(self, *args: str) -> dict[str, Any]:
        """`kubectl get ... -o json`, as JSON; {} when it is not there."""
        done = self.kubectl("get", *args, "-o", "json", "--ignore-not-found")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout)) if done.stdout.strip() else {}


def values_file(path: Path, values: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


def wait_for(
    check: Callable[[], Any], timeout: float, what: str, diagnose: Callable[[], str]
) -> Any:
    """Poll `check` until it returns something truthy; fail with `diagnose()` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout:.0f} s\n{diagnose()}")
        time.sleep(0.5)


def pod_logs(kubelet_workdir: Path, namespace: str, limit: int = 3000) -> str:
    """The tails of the process kubelet's logs of the namespace's pods (no `kubectl logs`)."""
    logs = sorted((kubelet_workdir / "logs").glob(f"{namespace}_*.log"))
    return "\n".join(f"--- {log.name} ---\n{log.read_text()[-limit:]}" for log in logs)
