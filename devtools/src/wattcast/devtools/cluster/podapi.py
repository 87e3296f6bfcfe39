"""The process kubelet's calls to the API server, through the official client, on plain JSON.

Responses are read as JSON (`_preload_content=False`) rather than as the client's models: the
kubelet builds and reads objects as dicts, and some models refuse valid answers (a Binding's
reply has no `target`). Writes retry what a kubelet retries: a 409 re-reads and writes again,
a 5xx or a broken connection waits and writes again, a 404 means the pod is gone.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

ATTEMPTS: Final = 5
RETRY_SECONDS: Final = 0.5


class PodGone(Exception):
    """The pod no longer exists (or is another pod of the same name)."""


def raw(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call a client method and return its answer as JSON."""
    response = call(*args, _preload_content=False, **kwargs)
    data = response.data
    return dict(json.loads(data)) if data else {}


def _retrying(what: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    for attempt in range(ATTEMPTS):
        try:
            return call()
        except ApiException as error:
            if error.status == 404:
                raise PodGone(what) from error
            if error.status != 409 and (error.status or 0) < 500 and error.status != 429:
                raise
            log.debug("%s: %s, again (%d)", what, error.status, attempt)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            log.debug("%s: %s, again (%d)", what, error, attempt)
        time.sleep(RETRY_SECONDS * (attempt + 1))
    return call()


def lookup(
    core: client.CoreV1Api, kind: str, namespace: str, name: str
) -> Mapping[str, Any] | None:
    """A Secret, ConfigMap or PersistentVolumeClaim as JSON, or None when there is none."""
    read = {
        "secrets": core.read_namespaced_secret,
        "configmaps": core.read_namespaced_config_map,
        "persistentvolumeclaims": core.read_namespaced_persistent_volume_claim,
    }[kind]
    try:
        return raw(read, name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def service_names(core: client.CoreV1Api, pod: Mapping[str, Any]) -> list[str]:
    """Names of the Services in the pod's namespace (for its hosts file: there is no DNS)."""
    namespace = str(pod["metadata"]["namespace"])
    answer = _retrying(
        f"services of {namespace}", lambda: raw(core.list_namespaced_service, namespace)
    )
    return [str(item["metadata"]["name"]) for item in answer.get("items") or []]


def request_token(
    core: client.CoreV1Api, pod: Mapping[str, Any], account: str, audience: str | None, seconds: int
) -> tuple[str, int]:
    """A token of `account` bound to the pod (TokenRequest); returns it and its lifetime."""
    meta = pod["metadata"]
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            # No audience: the API server's own (what in-cluster clients present).
            "audiences": [audience] if audience else [],
            "expirationSeconds": seconds,
            "boundObjectRef": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": meta["name"],
                "uid": meta["uid"],
            },
        },
    }
    answer = raw(core.create_namespaced_service_account_token, account, meta["namespace"], body)
    status = answer.get("status") or {}
    lifetime = seconds
    if expires := status.get("expirationTimestamp"):
        moment = datetime.strptime(str(expires), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        lifetime = max(1, int((moment - datetime.now(UTC)).total_seconds()))
    return str(status["token"]), lifetime


def patch_status(core: client.CoreV1Api, pod: Mapping[str, Any], status: Mapping[str, Any]) -> None:
    """Write the pod's status (strategic merge on pods/status, the pod's uid as precondition)."""
    meta = pod["metadata"]
    body = {"metadata": {"uid": meta["uid"]}, "status": status}
    what = f"status of {meta['namespace']}/{meta['name']}"
    _retrying(
        what, lambda: raw(core.patch_namespaced_pod_status, meta["name"], meta["namespace"], body)
    )


def bind(core: client.CoreV1Api, pod: Mapping[str, Any], node: str) -> bool:
    """Bind the pod to the node (pods/binding); False when it is gone or bound already."""
    meta = pod["metadata"]
    body = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }
    try:
        raw(core.create_namespaced_pod_binding, meta["name"], meta["namespace"], body)
    except ApiException as error:
        if error.status in (404, 409):
            return False
        raise
    return True


def delete_pod(core: client.CoreV1Api, pod: Mapping[str, Any]) -> None:
    """Delete the pod at once (gracePeriodSeconds 0), as the kubelet does once it stopped."""
    meta = pod["metadata"]
    body = {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}}
    try:
        _retrying(
            f"deletion of {meta['namespace']}/{meta['name']}",
            lambda: raw(core.delete_namespaced_pod, meta["name"], meta["namespace"], body=body),
        )
    except PodGone:
        pass
    except ApiException as error:
        if error.status != 409:  # another pod of that name: not ours to delete
            raise
