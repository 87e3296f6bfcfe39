"""The few Kubernetes API calls the operator's handlers make, counted for the metrics.

Kopf watches and keeps its own bookkeeping; everything else (creating Jobs, reading pods,
writing the TrainingJob status) goes through `KubeClient`, which wraps the official client's
blocking calls in threads and returns the JSON bodies the API server sent (camelCase dicts).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from wattcast.crd import constants
from wattcast.operator.metrics import API_REQUESTS

MERGE_PATCH = "application/merge-patch+json"


def load_api_client(pool_size: int = 32) -> client.ApiClient:
    """An ApiClient for the in-cluster service account, else the current kubeconfig."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except ConfigException:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    # Bursts create many Jobs at once; the default pool of 4 would discard connections.
    configuration.connection_pool_maxsize = pool_size
    return client.ApiClient(configuration)


class KubeClient:
    """Async wrappers around the calls the handlers need; 404 reads as None."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    async def _call(self, verb: str, resource: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        code = "error"
        try:
            response = await asyncio.to_thread(fn, _preload_content=False, **kwargs)
            code = str(response.status)
            data = response.data
            return json.loads(data) if data else {}
        except ApiException as error:
            code = str(error.status)
            raise
        finally:
            API_REQUESTS.labels(verb=verb, resource=resource, code=code).inc()

    async def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "create", "jobs", self.batch.create_namespaced_job, namespace=namespace, body=body
        )
        return result

    async def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._call(
                "get", "jobs", self.batch.read_namespaced_job, namespace=namespace, name=name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return result

    async def patch_job(
        self, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._call(
                "patch",
                "jobs",
                self.batch.patch_namespaced_job,
                namespace=namespace,
                name=name,
                body=patch,
                _content_type=MERGE_PATCH,
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return result

    async def list_job_pods(self, namespace: str, job_name: str) -> list[dict[str, Any]]:
        # The Job controller labels its pods with `batch.kubernetes.io/job-name` (and the
        # older `job-name`); one selector is enough on every supported version.
        result = await self._call(
            "list",
            "pods",
            self.core.list_namespaced_pod,
            namespace=namespace,
            label_selector=f"job-name={job_name}",
        )
        items: list[dict[str, Any]] = result.get("items") or []
        return items

    async def read_trainingjob(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._call(
                "get",
                "trainingjobs",
                self.custom.get_namespaced_custom_object,
                group=constants.GROUP,
                version=constants.VERSION,
                namespace=namespace,
                plural=constants.PLURAL,
                name=name,
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return result

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
        `resource_version` raises ApiException 409.
        """
        body: dict[str, Any] = {"status": status}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        try:
            result: dict[str, Any] = await self._call(
                "patch",
                "trainingjobs/status",
                self.custom.patch_namespaced_custom_object_status,
                group=constants.GROUP,
                version=constants.VERSION,
                namespace=namespace,
                plural=constants.PLURAL,
                name=name,
                body=body,
                _content_type=MERGE_PATCH,
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return result

    async def delete_trainingjob(self, namespace: str, name: str, uid: str) -> bool:
        """Delete the TrainingJob if it still is the object with `uid`; False when gone."""
        try:
            await self._call(
                "delete",
                "trainingjobs",
                self.custom.delete_namespaced_custom_object,
                group=constants.GROUP,
                version=constants.VERSION,
                namespace=namespace,
                plural=constants.PLURAL,
                name=name,
                body={"preconditions": {"uid": uid}, "propagationPolicy": "Background"},
            )
        except ApiException as error:
            if error.status in (404, 409):
                return False
            raise
        return True

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]
