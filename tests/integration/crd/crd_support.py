"""Helpers of the CRD's integration tests: TrainingJob bodies and the API server's refusals."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hostile_specs import VALID_SPEC
from kubernetes import client

from wattcast.devtools.processes import bin_path

GROUP, VERSION, PLURAL = "wattcast.dev", "v1alpha1", "trainingjobs"


def trainingjob(name: str, spec: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A TrainingJob body: `spec` (VALID_SPEC by default) with `changes` merged in."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TrainingJob",
        "metadata": {"name": name},
        "spec": {**(spec if spec is not None else VALID_SPEC), **changes},
    }


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


class TrainingJobs:
    """The admin CustomObjectsApi on TrainingJobs of one namespace."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.api = client.CustomObjectsApi(api)
        self.namespace = namespace

    def create(self, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.api.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body, **params
        )
        return created

    def get(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.api.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )
        return found

    def names(self) -> list[str]:
        listed = self.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        return [item["metadata"]["name"] for item in listed["items"]]

    def patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        patched: dict[str, Any] = self.api.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, patch
        )
        return patched

    def replace(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        replaced: dict[str, Any] = self.api.replace_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, body
        )
        return replaced

    def patch_status(self, name: str, status: dict[str, Any]) -> dict[str, Any]:
        """A merge patch of `status` on the status subresource, as the operator and trainer do."""
        patched: dict[str, Any] = self.api.patch_namespaced_custom_object_status(
            GROUP, VERSION, self.namespace, PLURAL, name, {"status": status}
        )
        return patched


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
