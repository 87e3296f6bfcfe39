"""The few Kubernetes API calls the operator's handlers make, counted for the metrics.

Kopf watches and keeps its own bookkeeping; everything else (creating Jobs, reading pods,
writing the TrainingJob status) goes through `KubeClient`, which wraps the official client's
blocking calls in threads and returns the JSON bodies the API server sent (camelCase dicts).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from kubernetes import client

from wattcast.crd import constants
from wattcast.crd.kubeapi import KubeApiError, load_configuration
from wattcast.operator.metrics import API_REQUESTS

__all__ = ["KubeApiError", "KubeClient", "load_api_client"]

MERGE_PATCH = "application/merge-patch+json"


def load_api_client(pool_size: int = 32) -> client.ApiClient:
    """An ApiClient for the pod's ServiceAccount, else $KUBECONFIG (the contract's one order,
    wattcast.crd.kubeapi); ConfigException when there is neither."""
    configuration = load_configuration()
    # Bursts create many Jobs at once; the default pool of 4 would discard connections.
    configuration.connection_pool_maxsize = pool_size
    return client.ApiClient(configuration)


# The namespaced kinds the operator makes and owns besides Jobs: (resource, collection path).
OWNED_KINDS = {
    "ConfigMap": ("configmaps", "/api/v1/namespaces/{namespace}/configmaps"),
    "ServiceAccount": ("serviceaccounts", "/api/v1/namespaces/{namespace}/serviceaccounts"),
    "Role": ("roles", "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles"),
    "RoleBinding": (
        "rolebindings",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
    ),
    "Lease": ("leases", "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"),
}

TJ_PATH = f"/apis/{constants.GROUP}/{constants.VERSION}/namespaces/{{namespace}}/{constants.PLURAL}"
FTJ_PATH = (
    f"/apis/{constants.GROUP}/{constants.VERSION}/namespaces/{{namespace}}/{constants.FLEET_PLURAL}"
)


class KubeClient:
    """Async wrappers around the calls the handlers need; 404 reads as None.

    Requests go through the official client's ApiClient (its kubeconfig and in-cluster
    authentication, token refresh included) but not through its generated API classes:
    instantiating CoreV1Api alone costs about 90 MB of memory, for one list call.
    """

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client

    def _send(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None,
        body: Any,
        content_type: str,
    ) -> tuple[int, str, bytes]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        serialized = self.api_client.param_serialize(
            method,
            path,
            query_params=query or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(*serialized)
        response.read()  # type: ignore[no-untyped-call]
        return int(response.status), str(response.reason or ""), bytes(response.data or b"")

    async def _call(
        self,
        verb: str,
        resource: str,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        code = "error"
        try:
            status, reason, data = await asyncio.to_thread(
                self._send, method, path, query, body, content_type
            )
            code = str(status)
        finally:
            API_REQUESTS.labels(verb=verb, resource=resource, code=code).inc()
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise KubeApiError.from_answer(status, reason, data)
        result: dict[str, Any] = json.loads(data) if data else {}
        return result

    async def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        result = await self._call(
            "create", "jobs", "POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", body=body
        )
        assert result is not None
        return result

    async def create_namespaced(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create an object of one of OWNED_KINDS in `namespace`."""
        resource, path = OWNED_KINDS[str(body["kind"])]
        result = await self._call(
            "create", resource, "POST", path.format(namespace=namespace), body=body
        )
        assert result is not None
        return result

    async def read_namespaced(self, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
        resource, path = OWNED_KINDS[kind]
        return await self._call(
            "get", resource, "GET", path.format(namespace=namespace) + f"/{name}", missing_ok=True
        )

    async def patch_namespaced(
        self, namespace: str, kind: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Merge-patch an object of one of OWNED_KINDS; None when it is gone."""
        resource, path = OWNED_KINDS[kind]
        return await self._call(
            "patch",
            resource,
            "PATCH",
            path.format(namespace=namespace) + f"/{name}",
            body=patch,
            content_type=MERGE_PATCH,
            missing_ok=True,
        )

    async def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._call(
            "get",
            "jobs",
            "GET",
            f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}",
            missing_ok=True,
        )

    async def patch_job(
        self, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any] | None:
        return await self._call(
            "patch",
            "jobs",
            "PATCH",
            f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}",
            body=patch,
            content_type=MERGE_PATCH,
            missing_ok=True,
        )

    async def list_job_pods(self, namespace: str, job_name: str) -> list[dict[str, Any]]:
        # The Job controller labels its pods with `batch.kubernetes.io/job-name` and the
        # older `job-name`; the older one is on pods of every supported version.
        result = await self._call(
            "list",
            "pods",
            "GET",
            f"/api/v1/namespaces/{namespace}/pods",
            query=[("labelSelector", f"job-name={job_name}")],
        )
        items: list[dict[str, Any]] = (result or {}).get("items") or []
        return items

    async def read_trainingjob(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._call(
            "get",
            "trainingjobs",
            "GET",
            TJ_PATH.format(namespace=namespace) + f"/{name}",
            missing_ok=True,
        )

    async def patch_trainingjob_status(
        self,
        namespace: str,
        name: str,
        status: dict[str, Any],
        *,
        resource_version: str | None = None,
    ) -> dict[str, Any] | None:
        """Merge-patch the status subresource; with `resource_version`, only if unchanged.

        Returns the updated object, or None when the TrainingJob is gone. A stale
        `resource_version` raises KubeApiError 409.
        """
        return await self._patch_status(
            TJ_PATH, constants.PLURAL, namespace, name, status, resource_version
        )

    async def patch_fleet_status(
        self,
        namespace: str,
        name: str,
        status: dict[str, Any],
        *,
        resource_version: str | None = None,
    ) -> None:
        """Merge-patch a FleetTrainingJob's status subresource (nothing when it is gone); with
        `resource_version`, only if unchanged (else KubeApiError 409)."""
        await self._patch_status(
            FTJ_PATH, constants.FLEET_PLURAL, namespace, name, status, resource_version
        )

    async def _patch_status(
        self,
        collection: str,
        plural: str,
        namespace: str,
        name: str,
        status: dict[str, Any],
        resource_version: str | None,
    ) -> dict[str, Any] | None:
        body: dict[str, Any] = {"status": status}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        return await self._call(
            "patch",
            f"{plural}/status",
            "PATCH",
            collection.format(namespace=namespace) + f"/{name}/status",
            body=body,
            content_type=MERGE_PATCH,
            missing_ok=True,
        )

    async def delete_trainingjob(self, namespace: str, name: str, uid: str) -> bool:
        """Delete the TrainingJob if it still is the object with `uid`; False when gone."""
        try:
            result = await self._call(
                "delete",
                "trainingjobs",
                "DELETE",
                TJ_PATH.format(namespace=namespace) + f"/{name}",
                body={
                    "apiVersion": "v1",
                    "kind": "DeleteOptions",
                    "preconditions": {"uid": uid},
                    "propagationPolicy": "Background",
                },
                missing_ok=True,
            )
        except KubeApiError as error:
            if error.status == 409:  # another object of that name now: not ours to delete
                return False
            raise
        return result is not None

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]
