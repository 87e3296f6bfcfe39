"""What tests of every kind share: a free port, a bounded wait, TrainingJob bodies, and the
TrainingJobs of one namespace on the real API server.

`tests/support` is on pytest's `pythonpath`: any test (and conftest) may `import testkit`.
A helper that two test folders need lives here, never in a copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client

from wattcast.crd import constants
from wattcast.devtools.cluster.access import install_crds
from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.devtools.processes import free_port, repo_root

__all__ = [
    "TJ_SPEC",
    "WAIT_S",
    "TrainingJobs",
    "control_plane_only",
    "free_port",
    "tj_body",
    "wait_for",
]

T = TypeVar("T")
WAIT_S = 60.0

# A spec the CRD accepts and that needs no data: two months of one electricity meter.
TJ_SPEC: dict[str, Any] = {
    "meterId": "meter1",
    "meterType": "electricity",
    "start": "2024-01-01T00:00:00Z",
    "end": "2024-03-01T00:00:00Z",
}


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout: float = WAIT_S,
    *,
    interval: float = 0.05,
    logs: Callable[[], str] | None = None,
) -> T:
    """Poll `probe` until it returns something truthy and return that; after `timeout` seconds
    fail naming `what`, the last answer and (if given) `logs()`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            tail = f"\n{logs()}" if logs is not None else ""
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {what} (last: {last!r}){tail}"
            )
        time.sleep(interval)


def tj_body(
    name: str,
    spec: dict[str, Any] | None = None,
    *,
    namespace: str | None = None,
    metadata: dict[str, Any] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A TrainingJob manifest named `name` (in `namespace`, with more `metadata` if given):
    `spec` (TJ_SPEC by default) with `changes` merged in (camelCase keys, as `kubectl apply`
    takes them)."""
    meta: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": constants.API_VERSION,
        "kind": constants.KIND,
        "metadata": {**meta, **(metadata or {})},
        "spec": {**(TJ_SPEC if spec is None else spec), **changes},
    }


class TrainingJobs:
    """The TrainingJobs of one namespace on the real API server, as an administrator sees them:
    what exists, and the writes the API, the operator and the trainer make. With
    `plural=constants.FLEET_PLURAL`, the same for FleetTrainingJobs."""

    def __init__(
        self,
        api: client.ApiClient | client.CustomObjectsApi,
        namespace: str,
        plural: str = constants.PLURAL,
    ) -> None:
        self.objects = (
            api if isinstance(api, client.CustomObjectsApi) else client.CustomObjectsApi(api)
        )
        self.namespace = namespace
        self.plural = plural

    def _where(self) -> tuple[str, str, str, str]:
        return constants.GROUP, constants.VERSION, self.namespace, self.plural

    def create(self, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.objects.create_namespaced_custom_object(
            *self._where(), body, **params
        )
        return created

    def get(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.objects.get_namespaced_custom_object(*self._where(), name)
        return found

    def items(self) -> list[dict[str, Any]]:
        """Every TrainingJob in the namespace, straight from the API server."""
        listing = self.objects.list_namespaced_custom_object(*self._where())
        items: list[dict[str, Any]] = listing["items"]
        return items

    def names(self) -> list[str]:
        return sorted(item["metadata"]["name"] for item in self.items())

    def patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        patched: dict[str, Any] = self.objects.patch_namespaced_custom_object(
            *self._where(), name, patch
        )
        return patched

    def replace(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        replaced: dict[str, Any] = self.objects.replace_namespaced_custom_object(
            *self._where(), name, body
        )
        return replaced

    def patch_status(self, name: str, status: dict[str, Any]) -> dict[str, Any]:
        """A merge patch of `status` on the status subresource, as the operator and trainer do."""
        patched: dict[str, Any] = self.objects.patch_namespaced_custom_object_status(
            *self._where(), name, {"status": status}
        )
        return patched


@contextmanager
def control_plane_only(workdir: Path) -> Iterator[DevCluster]:
    """A control plane of the test's own, with the TrainingJob CRD and no kubelet: for tests
    that freeze, restrict or break it, so the session's `devcluster` stays untouched."""
    cluster = DevCluster(workdir, kubelet=False).start()
    try:
        install_crds(cluster.kubeconfig, repo_root() / "crds" / "trainingjob.yaml")
        yield cluster
    finally:
        cluster.stop()
