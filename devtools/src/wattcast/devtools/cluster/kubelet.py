"""The process kubelet: one Ready node whose pods run as local processes (dev-only).

It registers Node `node_name` (:mod:`.nodeagent`), watches every pod (:mod:`.podcache`),
binds pending ones to its node up to `capacity` at once (the scheduler's part, first come
first served, :mod:`.scheduling`), and runs each pod bound to it in a `PodWorker` (the
kubelet's part, :mod:`.podworker`). It talks to a real API server with the admin kubeconfig;
Job status is the real Job controller's, never written here.

    kubelet = ProcessKubelet(kubeconfig, workdir, api_port=port, ca_file=ca).start()
    ...
    kubelet.stop()

`images` is the node's image table: a container whose image is in it gets that folder first
on PATH, so the image decides which program its command names (a test's double of
`wattcast-trainer`, say); any other image runs the commands of the kubelet's own environment.

Its folders under `workdir`: volumes/<namespace>/<claim> (claims, shared), pods/<uid> (each
pod's emptyDirs, projected files, termination logs, hosts file), logs/<namespace>_<pod>.log
(stdout and stderr; `kubectl logs` is not served).

State kept in memory only (lost on restart, rebuilt from the API): the pod cache, the pods it
bound and not yet saw bound, the Unschedulable messages it wrote, and its workers. Pods an
earlier kubelet started and this one has no process of are marked Failed (restartPolicy
Never) or started again (Always, OnFailure).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from kubernetes import client

from wattcast.crd.kubeapi import load_configuration
from wattcast.devtools.cluster import nodes, podapi, scheduling
from wattcast.devtools.cluster.nodeagent import NodeAgent
from wattcast.devtools.cluster.podcache import PodCache
from wattcast.devtools.cluster.podstatus import (
    PodRun,
    has_run,
    is_terminal,
    pod_status,
    unschedulable,
)
from wattcast.devtools.cluster.podworker import Host, PodWorker, lost_state
from wattcast.devtools.cluster.sandbox import BWRAP, OWN_TOP_LEVEL
from wattcast.devtools.cluster.volumes import claim_folder

log = logging.getLogger(__name__)

RESYNC_SECONDS: Final = 1.0
WATCH_SECONDS: Final = 240
POOL_SIZE: Final = 32


def _keep_paths() -> tuple[Path, ...]:
    """Where this Python, its import path and the PATH live, when that is in a folder the
    sandbox replaces (a clone under /tmp, say)."""
    candidates = [
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(os.path.realpath(sys.executable)).parent,
    ]
    candidates += [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    # The project's own sources (editable installs) and its repository, wherever it was cloned.
    candidates += [Path(p) for p in sys.path if p and Path(p).is_dir()]
    keep = []
    for path in candidates:
        parts = path.parts
        if len(parts) > 1 and parts[1] in OWN_TOP_LEVEL and path.exists() and path not in keep:
            keep.append(path)
    return tuple(keep)


def _kept_images(images: Mapping[str, Path]) -> tuple[Path, ...]:
    """Image folders the sandbox would otherwise hide (in /tmp, say)."""
    folders = (Path(folder).resolve() for folder in images.values())
    return tuple(f for f in folders if len(f.parts) > 1 and f.parts[1] in OWN_TOP_LEVEL)


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
        images: Mapping[str, Path] | None = None,
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
        configuration = load_configuration(kubeconfig)
        configuration.connection_pool_maxsize = POOL_SIZE
        self._api = client.ApiClient(configuration)
        self.core = client.CoreV1Api(self._api)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # guards the bookkeeping below (workers and done)
        self._node = NodeAgent(self._api, node_name, capacity, self.workdir)
        self._cache = PodCache(self.core, self._changed)
        self._workers: dict[str, PodWorker] = {}
        self._done: set[str] = set()  # pods whose worker ended
        self._bound: set[str] = set()  # bound by us, the watch may not show it yet
        self._marked: dict[str, str] = {}  # uid -> the Unschedulable message written
        self._loop_thread: threading.Thread | None = None
        self._host = Host(
            core=self.core,
            workdir=self.workdir,
            api_host=api_host,
            api_port=api_port,
            ca_file=Path(ca_file),
            stopping=self._stopping,
            latest=self._cache.get,
            pod_env=dict(pod_env or {}),
            base_env=_base_env(),
            keep=_keep_paths() + _kept_images(images or {}),
            images={name: Path(folder).resolve() for name, folder in (images or {}).items()},
            restart_backoff_seconds=restart_backoff_seconds,
            stop_grace_seconds=stop_grace_seconds,
        )

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> ProcessKubelet:
        for folder in ("volumes", "pods", "logs"):
            (self.workdir / folder).mkdir(parents=True, exist_ok=True)
        self._node.register()
        resource_version = self._cache.relist()
        self._adopt_orphans()
        self._cache.start(resource_version)
        self._node.start()
        self._loop_thread = threading.Thread(target=self._loop, name="kubelet-loop", daemon=True)
        self._loop_thread.start()
        log.info("process kubelet: node %s ready, %d pods at once", self.node_name, self.capacity)
        return self

    def stop(self) -> None:
        """Stop every pod's process (SIGTERM, grace, SIGKILL) and the kubelet's threads."""
        self._stopping.set()
        self._wake.set()
        self._cache.stop()
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.wake.set()
        for worker in workers:
            worker.join()
        self._node.stop()
        if self._loop_thread is not None:
            self._loop_thread.join(5)
        self._api.close()  # type: ignore[no-untyped-call]

    def claim_folder(self, namespace: str, claim: str) -> Path:
        """The folder that is PersistentVolumeClaim `namespace/claim` (the model store, say)."""
        return claim_folder(self.workdir / "volumes", namespace, claim)

    def running(self, namespace: str | None = None) -> dict[str, int]:
        """`namespace/name` -> process id of each pod (of `namespace`) whose process is alive."""
        with self._lock:
            workers = list(self._workers.values())
        alive = {}
        for worker in workers:
            meta = worker.pod["metadata"]
            process = worker.process
            if (namespace is None or meta["namespace"] == namespace) and (
                process is not None and process.alive and process.pid is not None
            ):
                alive[f"{meta['namespace']}/{meta['name']}"] = process.pid
        return alive

    def log_path(self, namespace: str, pod: str) -> Path:
        """The file holding the pod's stdout and stderr (what `kubectl logs` would show)."""
        return self._host.log_path({"metadata": {"namespace": namespace, "name": pod}})

    def __enter__(self) -> ProcessKubelet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

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

    def _changed(self, uid: str | None) -> None:
        """A pod changed (None: all may have): wake its worker and the loop."""
        if uid is not None:
            with self._lock:
                worker = self._workers.get(uid)
            if worker is not None:
                worker.wake.set()
        self._wake.set()

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
        pods = self._cache.snapshot()
        with self._lock:
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
        for pod in self._cache.snapshot().values():
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
