"""Helpers of the CRD's integration tests: TrainingJob bodies and the API server's refusals."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from wattcast.devtools.processes import bin_path

GROUP, VERSION, PLURAL = "wattcast.dev", "v1alpha1", "trainingjobs"


def refusal(error: client.ApiException) -> dict[str, Any]:
    """The Status object of an API server refusal."""
    status: dict[str, Any] = json.loads(error.body)
    assert status["kind"] == "Status", status
    return status


def refused(call: Any, *args: Any, code: int = 422) -> dict[str, Any]:
    """Call `call(*args)`, expect the API server to refuse it with `code`; its Status."""
    with pytest.raises(client.ApiException) as caught:
        call(*args)
    assert caught.value.status == code, caught.value.body
    return refusal(caught.value)


def run_kubectl(
    kubeconfig: Path, *args: str, stdin: str | None = None, cache: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl as an administrator, whatever its exit status (stdout and stderr kept apart)."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    if cache is not None:
        env["KUBECACHEDIR"] = str(cache)
    return subprocess.run(
        [bin_path("kubectl"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
