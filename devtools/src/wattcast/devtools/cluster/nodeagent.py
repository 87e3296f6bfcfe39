"""The process kubelet's Node: registered Ready, its Lease renewed, its status refreshed.

The node lifecycle controller does not run in the test bed, so the `not-ready` taint that
the API server puts on a new Node is lifted here, as that controller would once it saw Ready.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wattcast.devtools.cluster import nodes, podapi
from wattcast.devtools.cluster.sandbox import BWRAP

log = logging.getLogger(__name__)


class NodeAgent:
    """Registers the Node and keeps it fresh (a heartbeat thread)."""

    def __init__(self, api: client.ApiClient, name: str, capacity: int, workdir: Path) -> None:
        self.api, self.name, self.capacity, self.workdir = api, name, capacity, workdir
        self.core = client.CoreV1Api(api)
        self.uid = ""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _status(self) -> dict[str, Any]:
        version = client.VersionApi(self.api).get_code().git_version
        answer = subprocess.run([BWRAP, "--version"], capture_output=True, text=True, check=False)
        runtime = "process://" + (answer.stdout.split() or ["unknown"])[-1]
        return nodes.node_status(
            self.capacity, workdir=self.workdir, kubelet_version=version, runtime=runtime
        )

    def register(self) -> None:
        status = self._status()
        try:
            node = podapi.raw(self.core.create_node, nodes.node_object(self.name, status))
        except ApiException as error:
            if error.status != 409:
                raise
            labels = {"metadata": {"labels": nodes.labels(self.name)}}
            node = podapi.raw(self.core.patch_node, self.name, labels)
        taints = [
            t
            for t in (node.get("spec") or {}).get("taints") or []
            if t.get("key") != "node.kubernetes.io/not-ready"
        ]
        podapi.raw(self.core.patch_node, self.name, {"spec": {"taints": taints or None}})
        podapi.raw(self.core.patch_node_status, self.name, {"status": status})
        self.uid = str(node["metadata"]["uid"])
        self.renew_lease()

    def renew_lease(self) -> None:
        leases = client.CoordinationV1Api(self.api)
        body = nodes.lease_object(self.name, self.uid)
        try:
            podapi.raw(
                leases.patch_namespaced_lease,
                self.name,
                nodes.LEASE_NAMESPACE,
                {"spec": body["spec"]},
            )
        except ApiException as error:
            if error.status != 404:
                raise
            podapi.raw(leases.create_namespaced_lease, nodes.LEASE_NAMESPACE, body)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._heartbeat, name="kubelet-heartbeat", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)

    def _heartbeat(self) -> None:
        since_status = 0.0
        while not self._stopping.wait(nodes.RENEW_SECONDS):
            try:
                self.renew_lease()
                since_status += nodes.RENEW_SECONDS
                if since_status >= nodes.STATUS_SECONDS:
                    since_status = 0.0
                    podapi.raw(self.core.patch_node_status, self.name, {"status": self._status()})
            except Exception as error:  # the API server may be busy or restarting
                log.warning("node heartbeat failed: %s", error)
