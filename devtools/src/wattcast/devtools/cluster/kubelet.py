"""The process kubelet: one Ready node whose pods run as local processes (dev-only).

It registers Node `node_name` (and renews its Lease), watches every pod, binds pending ones to
its node up to `capacity` at once (the scheduler's part, first come first served), and runs
each pod bound to it in a `PodWorker` (the kubelet's part). It talks to a real API server with
the admin kubeconfig; Job status is the real Job controller's, never written here.

    kubelet = ProcessKubelet(kubeconfig, workdir, api_port=port, ca_file=ca).start()
    ...
    kubelet.stop()

Its folders under `workdir`: volumes/<namespace>/<claim> (claims, shared), pods/<uid> (each
pod's emptyDirs, projected files, termination logs), logs/<namespace>_<pod>.log (stdout and
stderr; `kubectl logs` is not served). What it does not do: docs/testbed.md.

State kept in memory only (lost on restart, rebuilt from the API): the pod cache of the watch,
the pods it bound and not yet saw bound, and its workers. Pods an earlier kubelet started and
this one has no process of are marked Failed (restartPolicy Never) or started again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from wattcast.devtools.cluster import nodes, podapi, scheduling
from wattcast.devtools.cluster.podstatus import (
    PodRun,
    has_run,
    is_terminal,
    pod_status,
    unschedulable,
)
from wattcast.devtools.cluster.podworker import Host, PodWorker, lost_state
from wattcast.devtools.cluster.sandbox import BWRAP, OWN_TOP_LEVEL

log = logging.getLogger(__name__)

RESYNC_SECONDS: Final = 1.0
WATCH_SECONDS: Final = 240
POOL_SIZE: Final = 32


def _keep_paths() -> tuple[Path, ...]:
    """Where this Python and the PATH live, when that is in a folder the sandbox replaces."""
    candidates = [
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(os.path.realpath(sys.executable)).parent,
    ]
    candidates += [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    keep = []
    for path in candidates:
        parts = path.parts
        if len(parts) > 1 and parts[1] in OWN_TOP_LEVEL and path.exists() and path not in keep:
            keep.append(path)
    return tuple(keep)


def _base_env() -> dict[str, str]:
    """The kubelet's environment, with its own Python's bin folder first on PATH: pods run
    the project's commands (`wattcast-trainer`) and Python from the same virtual environment."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    path = env.get("PATH", os.defpath).split(os.pathsep)
    if venv_bin not in path:
        env["PATH"] = os.pathsep.join([venv_bin, *path])
    if sys.prefix != sys.base_prefix:
        env.setdefault("VIRTUAL_ENV", sys.prefix)
    return env


class ProcessKubelet:
    """A node of the test bed whose pods are processes of this machine."""

    def __init__(
        self,
        kubeconfig: Path,
        workdir: Path,
        *,
        node_name: str = "wattcast-dev",
        capacity: int = 2,
        pod_env: Mapping[str, str] | None = None,
        api_host: str = "127.0.0.1",
        api_port: int,
        ca_file: Path,
        restart_backoff_seconds: float = 10.0,
        stop_grace_seconds: float = 5.0,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if shutil.which(BWRAP) is None:
            raise RuntimeError("bubblewrap (bwrap) is not installed: run make setup")
        self.node_name, self.capacity, self.workdir = node_name, capacity, Path(workdir)
        configuration = client.Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), client_configuration=configuration
        )
        configuration.connection_pool_maxsize = POOL_SIZE
        self._api = client.ApiClient(configuration)
        self.core = client.CoreV1Api(self._api)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._pods: dict[str, dict[str, Any]] = {}  # uid -> pod, as the watch saw it
        self._workers: dict[str, PodWorker] = {}
        self._done: set[str] = set()  # pods whose worker ended
        self._bound: set[str] = set()  # bound by us, the watch may not show it yet
        self._marked: dict[str, str] = {}  # uid -> the Unschedulable message written
        self._threads: list[threading.Thread] = []
        self._response: Any = None  # the watch's open answer, shut to stop it at once
        self._host = Host(
            core=self.core,
            workdir=self.workdir,
            api_host=api_host,
            api_port=api_port,
            ca_file=Path(ca_file),
            stopping=self._stopping,
            latest=self._latest,
            pod_env=dict(pod_env or {}),
            base_env=_base_env(),
            keep=_keep_paths(),
            restart_backoff_seconds=restart_backoff_seconds,
            stop_grace_seconds=stop_grace_seconds,
        )

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> ProcessKubelet:
        for folder in ("volumes", "pods", "logs"):
            (self.workdir / folder).mkdir(parents=True, exist_ok=True)
        self._register()
        resource_version = self._relist()
        self._adopt_orphans()
        for target, name in (
            (self._watch, "watch"),
            (self._loop, "loop"),
            (self._heartbeat, "heartbeat"),
        ):
            args = (resource_version,) if target == self._watch else ()
            thread = threading.Thread(target=target, args=args, name=f"kubelet-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._wake.set()
        log.info("process kubelet: node %s ready, %d pods at once", self.node_name, self.capacity)
        return self

    def stop(self) -> None:
        """Stop every pod's process (SIGTERM, grace, SIGKILL) and the kubelet's threads."""
        self._stopping.set()
        self._wake.set()
        if self._response is not None:
            self._response.shutdown()
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.wake.set()
        for worker in workers:
            worker.join()
        for thread in self._threads:
            thread.join(5)
        self._api.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> ProcessKubelet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the node ---------------------------------------------------------------------------
    def _runtime(self) -> str:
        version = subprocess.run([BWRAP, "--version"], capture_output=True, text=True, check=False)
        return "process://" + (version.stdout.split()[-1] if version.stdout.split() else "unknown")

    def _node_status(self) -> dict[str, Any]:
        version = client.VersionApi(self._api).get_code().git_version
        return nodes.node_status(
            self.capacity, workdir=self.workdir, kubelet_version=version, runtime=self._runtime()
        )

    def _register(self) -> None:
        status = self._node_status()
        try:
            node = podapi.raw(self.core.create_node, nodes.node_object(self.node_name, status))
        except ApiException as error:
            if error.status != 409:
                raise
            node = podapi.raw(
                self.core.patch_node,
                self.node_name,
                {"metadata": {"labels": nodes.labels(self.node_name)}},
            )
        # The node lifecycle controller would lift the not-ready taint of a new node; it does
        # not run here, and the node is Ready.
        taints = [
            t
            for t in (node.get("spec") or {}).get("taints") or []
            if t.get("key") != "node.kubernetes.io/not-ready"
        ]
        podapi.raw(self.core.patch_node, self.node_name, {"spec": {"taints": taints or None}})
        podapi.raw(self.core.patch_node_status, self.node_name, {"status": status})
        self._node_uid = str(node["metadata"]["uid"])
        self._renew_lease()

    def _renew_lease(self) -> None:
        leases = client.CoordinationV1Api(self._api)
        body = nodes.lease_object(self.node_name, self._node_uid)
        try:
            podapi.raw(
                leases.patch_namespaced_lease,
                self.node_name,
                nodes.LEASE_NAMESPACE,
                {"spec": body["spec"]},
            )
        except ApiException as error:
            if error.status != 404:
                raise
            podapi.raw(leases.create_namespaced_lease, nodes.LEASE_NAMESPACE, body)

    def _heartbeat(self) -> None:
        since_status = 0.0
        while not self._stopping.wait(nodes.RENEW_SECONDS):
            try:
                self._renew_lease()
                since_status += nodes.RENEW_SECONDS
                if since_status >= nodes.STATUS_SECONDS:
                    since_status = 0.0
                    podapi.raw(
                        self.core.patch_node_status, self.node_name, {"status": self._node_status()}
                    )
            except Exception as error:  # the API server may be busy or restarting
                log.warning("node heartbeat failed: %s", error)

    # -- the pod cache ----------------------------------------------------------------------
    def _latest(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            return self._pods.get(uid)

    def _relist(self) -> str:
        listing = podapi.raw(self.core.list_pod_for_all_namespaces)
        with self._lock:
            self._pods = {str(p["metadata"]["uid"]): p for p in listing.get("items") or []}
        self._wake.set()
        return str(listing["metadata"]["resourceVersion"])

    def _watch(self, resource_version: str | None) -> None:
        while not self._stopping.is_set():
            try:
                if resource_version is None:
                    resource_version = self._relist()
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
                    worker = self._workers.get(uid)
                if worker is not None:
                    worker.wake.set()
                self._wake.set()
        finally:
            self._response = None
            response.release_conn()
        return resource_version

    # -- the loop: scheduler and pod workers ------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(RESYNC_SECONDS)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self._sync()
            except Exception:
                log.exception("process kubelet: sync failed, again in %ss", RESYNC_SECONDS)

    def _worker_done(self, uid: str) -> None:
        with self._lock:
            self._workers.pop(uid, None)
            self._done.add(uid)
        self._wake.set()

    def _start_worker(self, pod: dict[str, Any], **kwargs: Any) -> None:
        worker = PodWorker(self._host, pod, on_done=self._worker_done, **kwargs)
        with self._lock:
            self._workers[worker.uid] = worker
        worker.start()

    def _sync(self) -> None:
        with self._lock:
            pods = dict(self._pods)
            workers = dict(self._workers)
            # Forget what the API forgot: pods gone (and their folders), bindings it shows.
            for uid in [u for u in self._done if u not in pods]:
                self._done.discard(uid)
                shutil.rmtree(self.workdir / "pods" / uid, ignore_errors=True)
            self._bound = {
                u for u in self._bound if u in pods and not pods[u]["spec"].get("nodeName")
            }
            self._marked = {u: m for u, m in self._marked.items() if u in pods}
            done = set(self._done)
        for uid, worker in workers.items():
            if uid not in pods:
                worker.wake.set()  # deleted at once: the worker stops its process
        busy = set(self._bound) | set(workers)
        for uid, pod in pods.items():
            if pod["spec"].get("nodeName") != self.node_name or uid in done or is_terminal(pod):
                continue
            busy.add(uid)
            if uid not in workers and not self._stopping.is_set():
                self._start_worker(pod)
        self._schedule(pods, self.capacity - len(busy - done))

    def _schedule(self, pods: Mapping[str, dict[str, Any]], free: int) -> None:
        node_labels = nodes.labels(self.node_name)

        known: dict[tuple[str, str], bool] = {}  # one look-up per claim and pass

        def claim_exists(namespace: str, claim: str) -> bool:
            if (namespace, claim) not in known:
                found = podapi.lookup(self.core, "persistentvolumeclaims", namespace, claim)
                known[namespace, claim] = found is not None
            return known[namespace, claim]

        waiting = [
            p for u, p in pods.items() if scheduling.wants_scheduling(p) and u not in self._bound
        ]
        for pod in scheduling.queue_order(waiting):
            uid = str(pod["metadata"]["uid"])
            why = scheduling.misfit(pod, node_labels, claim_exists)
            if why is None and free > 0:
                if podapi.bind(self.core, pod, self.node_name):
                    self._bound.add(uid)
                    free -= 1
                continue
            message = why or scheduling.TOO_MANY_PODS
            patch = unschedulable(pod, message)
            if patch is not None and self._marked.get(uid) != message:
                try:
                    podapi.patch_status(self.core, pod, patch)
                    self._marked[uid] = message
                except podapi.PodGone:
                    pass

    def _adopt_orphans(self) -> None:
        """Pods an earlier kubelet started on this node: their processes are gone."""
        with self._lock:
            pods = list(self._pods.values())
        for pod in pods:
            if (
                pod["spec"].get("nodeName") != self.node_name
                or is_terminal(pod)
                or not has_run(pod)
            ):
                continue
            policy = pod["spec"].get("restartPolicy", "Always")
            previous: dict[str, Any] = next(
                iter((pod.get("status") or {}).get("containerStatuses") or []), {}
            )
            restarts = int(previous.get("restartCount") or 0)
            if policy == "Never" or pod["metadata"].get("deletionTimestamp"):
                run = PodRun(
                    start_time=str(pod["status"].get("startTime") or ""),
                    state=lost_state(),
                    restart_count=restarts,
                    phase="Failed",
                )
                try:
                    podapi.patch_status(self.core, pod, pod_status(pod, run))
                    if pod["metadata"].get("deletionTimestamp"):
                        podapi.delete_pod(self.core, pod)
                except podapi.PodGone:
                    continue
                with self._lock:
                    self._done.add(str(pod["metadata"]["uid"]))
            else:
                self._start_worker(pod, restart_count=restarts + 1, last_state=lost_state())
