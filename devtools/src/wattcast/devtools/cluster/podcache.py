"""Every pod of the cluster as the process kubelet last saw it: a list, then a watch.

State in memory only: on a restart of the kubelet it is listed again. A watch that expires
(410 Gone) or breaks lists again and watches from there; each change calls `on_change(uid)`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any, Final

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from wattcast.devtools.cluster import podapi

log = logging.getLogger(__name__)

WATCH_SECONDS: Final = 240  # the server ends each watch after this; the cache goes on


class PodCache:
    """Pods by uid, kept current by a watch in a thread of its own."""

    def __init__(self, core: client.CoreV1Api, on_change: Callable[[str | None], None]) -> None:
        self.core = core
        self.on_change = on_change  # uid of the changed pod, None after a relist
        self._lock = threading.Lock()
        self._pods: dict[str, dict[str, Any]] = {}
        self._stopping = threading.Event()
        self._response: Any = None  # the watch's open answer, shut to stop it at once
        self._thread: threading.Thread | None = None

    def get(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            return self._pods.get(uid)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._pods)

    def relist(self) -> str:
        """List every pod; returns the list's resourceVersion."""
        listing = podapi.raw(self.core.list_pod_for_all_namespaces)
        with self._lock:
            self._pods = {str(p["metadata"]["uid"]): p for p in listing.get("items") or []}
        self.on_change(None)
        return str(listing["metadata"]["resourceVersion"])

    def start(self, resource_version: str) -> None:
        self._thread = threading.Thread(
            target=self._watch, args=(resource_version,), name="kubelet-watch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._response is not None:
            self._response.shutdown()
        if self._thread is not None:
            self._thread.join(5)

    def _watch(self, resource_version: str | None) -> None:
        while not self._stopping.is_set():
            try:
                if resource_version is None:
                    resource_version = self.relist()
                resource_version = self._watch_once(resource_version)
            except ApiException as error:
                if error.status != 410:
                    log.warning("pod watch failed: %s", error)
                    self._stopping.wait(1.0)
                resource_version = None  # expired or broken: list again
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
                if not self._stopping.is_set():
                    log.warning("pod watch broke: %s", error)
                    self._stopping.wait(1.0)
                resource_version = None

    def _watch_once(self, resource_version: str) -> str | None:
        """Follow one watch; the last resourceVersion seen, or None when it expired."""
        response: Any = self.core.list_pod_for_all_namespaces(
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _preload_content=False,
        )
        self._response = response
        try:
            for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                if self._stopping.is_set():
                    break
                if not line.strip():
                    continue
                event = json.loads(line)
                pod = event["object"]
                if event["type"] == "ERROR":
                    if pod.get("code") == 410:
                        return None
                    raise ApiException(status=pod.get("code"), reason=pod.get("message"))
                resource_version = str(pod["metadata"]["resourceVersion"])
                if event["type"] == "BOOKMARK":
                    continue
                uid = str(pod["metadata"]["uid"])
                with self._lock:
                    if event["type"] == "DELETED":
                        self._pods.pop(uid, None)
                    else:
                        self._pods[uid] = pod
                self.on_change(uid)
        finally:
            self._response = None
            response.release_conn()
        return resource_version
