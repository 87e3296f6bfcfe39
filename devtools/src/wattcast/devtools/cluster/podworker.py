"""One pod's life on the process kubelet's node, in a thread of its own.

Set up the volumes and the environment (waiting, and retrying, while something is missing),
start the first container's command in its sandbox, report Running, wait for it to end or for
the pod's deletion, report the end with exit code, reason and termination message. An image
of a registry under `.invalid` waits in ErrImagePull, as an image no registry has would. Under
restartPolicy Always (or OnFailure after a failure) the container is started again after a
back-off (10 s doubling to 5 min, reset after 10 min of running), counting restartCount.

A deleted pod's process gets SIGTERM, the deletion's grace period, then SIGKILL; the kubelet
writes its terminal status and deletes it with gracePeriodSeconds 0, as the kubelet's status
manager does (a finalizer such as the Job controller's keeps it until its owner lets go).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wattcast.devtools.cluster import podapi
from wattcast.devtools.cluster.environment import (
    POD_IP,
    ContainerConfigError,
    container_argv,
    container_env,
)
from wattcast.devtools.cluster.podstatus import (
    ContainerState,
    PodRun,
    now,
    pod_status,
    terminated_reason,
)
from wattcast.devtools.cluster.probes import Readiness
from wattcast.devtools.cluster.processes import ContainerProcess, termination_message
from wattcast.devtools.cluster.sandbox import bwrap_argv
from wattcast.devtools.cluster.volumes import Mount, PodVolumes, VolumeError, prepare_volumes

log = logging.getLogger(__name__)

DEFAULT_TERMINATION_PATH: Final = "/dev/termination-log"
MAX_BACKOFF_SECONDS: Final = 300.0
BACKOFF_RESET_SECONDS: Final = 600.0
FORCED_GRACE_SECONDS: Final = 2.0  # a pod deleted with no grace left still gets SIGTERM first
POLL_SECONDS: Final = 0.1
CLUSTER_DOMAIN: Final = "cluster.local"
LOST: Final = "The container could not be located when the pod was terminated"


@dataclass
class Host:
    """What every pod worker shares: the API, the node's folders and settings."""

    core: client.CoreV1Api
    workdir: Path
    api_host: str
    api_port: int
    ca_file: Path
    stopping: threading.Event
    latest: Callable[[str], dict[str, Any] | None]  # the pod by uid from the watch's cache
    pod_env: Mapping[str, str] = field(default_factory=dict)
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    keep: tuple[Path, ...] = ()
    images: Mapping[str, Path] = field(default_factory=dict)  # image -> folder first on PATH
    restart_backoff_seconds: float = 10.0
    retry_seconds: float = 2.0
    stop_grace_seconds: float = 5.0

    def log_path(self, pod: Mapping[str, Any]) -> Path:
        meta = pod["metadata"]
        return self.workdir / "logs" / f"{meta['namespace']}_{meta['name']}.log"


def unpullable(image: str) -> bool:
    """Whether no kubelet could pull `image`: its registry is under the reserved `.invalid`
    domain (RFC 2606), so a test can name an image that fails as a missing one would."""
    registry = image.split("/", 1)[0] if "/" in image else ""
    return registry.split(":", 1)[0].endswith(".invalid")


def lost_state() -> ContainerState:
    """What the kubelet reports for a container it can no longer find."""
    return ContainerState("terminated", "ContainerStatusUnknown", LOST, 137, None, now())


def service_hostnames(namespace: str, services: Iterable[str]) -> list[str]:
    """The DNS names cluster DNS gives the Services of a pod's `namespace`: `name`,
    `name.namespace`, `name.namespace.svc` and `name.namespace.svc.cluster.local`."""
    names: list[str] = []
    for service in sorted(services):
        names += [
            service,
            f"{service}.{namespace}",
            f"{service}.{namespace}.svc",
            f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}",
        ]
    return names


def _hosts_file(pod: Mapping[str, Any], services: Iterable[str] = ()) -> str:
    name = str(pod["metadata"]["name"])
    namespace = str(pod["metadata"].get("namespace") or "default")
    lines = [
        "# Kubernetes-managed hosts file (the process kubelet).",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        f"{POD_IP}\t{name}",
    ]
    # No cluster DNS: every pod shares the machine's network, so a Service of the namespace is
    # its pods' port on loopback (when the Service's port is its target port).
    hostnames = service_hostnames(namespace, services)
    if hostnames:
        lines.append(f"{POD_IP}\t{' '.join(hostnames)}")
    for alias in (pod.get("spec") or {}).get("hostAliases") or []:
        lines.append(f"{alias.get('ip')}\t{' '.join(alias.get('hostnames') or [])}")
    return "\n".join(lines) + "\n"


class PodWorker(threading.Thread):
    """Runs one pod bound to the node until it is terminal, deleted or the kubelet stops."""

    def __init__(
        self,
        host: Host,
        pod: dict[str, Any],
        *,
        on_done: Callable[[str], None],
        restart_count: int = 0,
        last_state: ContainerState | None = None,
    ) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.host, self.pod, self.uid = host, pod, str(meta["uid"])
        self.on_done = on_done
        self.run_state = PodRun(
            start_time=str((pod.get("status") or {}).get("startTime") or now()),
            restart_count=restart_count,
            last_state=last_state,
        )
        self.pod_dir = host.workdir / "pods" / self.uid
        self.wake = threading.Event()  # set when the pod changed (deletion, say)
        self.process: ContainerProcess | None = None

    # -- the pod as last seen -------------------------------------------------------------
    def _refresh(self) -> bool:
        """Take the latest pod from the cache; False when it is gone."""
        latest = self.host.latest(self.uid)
        if latest is None:
            return False
        self.pod = latest
        return True

    def _deleting(self) -> bool:
        return bool(self.pod["metadata"].get("deletionTimestamp"))

    def _grace(self) -> float:
        meta, spec = self.pod["metadata"], self.pod.get("spec") or {}
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        return max(float(grace), FORCED_GRACE_SECONDS)

    def _write(self) -> None:
        podapi.patch_status(self.host.core, self.pod, pod_status(self.pod, self.run_state))

    def _pause(self, seconds: float) -> None:
        """Wait, waking early for a change of the pod or the kubelet's stop."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.host.stopping.is_set():
            if self.wake.wait(min(POLL_SECONDS * 5, max(0.0, deadline - time.monotonic()))):
                self.wake.clear()
                if not self._refresh() or self._deleting():
                    return

    # -- the life -------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._life()
        except podapi.PodGone:
            log.info("pod %s is gone", self.name)
        except Exception:
            log.exception("pod %s: the kubelet gave up on it", self.name)
        finally:
            if self.process is not None and self.process.poll() is None:
                self.process.stop(0)
            self.on_done(self.uid)

    def _life(self) -> None:
        self._write()
        backoff = 0.0
        while not self.host.stopping.is_set():
            if not self._refresh():
                return
            if self._deleting():
                self._end_unstarted()
                return
            started = self._start()
            if started is None:
                self._pause(self.host.retry_seconds)
                continue
            ran_from = time.monotonic()
            code = self._wait()
            if code is None:  # the kubelet stops: the process went, no status is written
                return
            state = self._terminated(code, started)
            policy = (self.pod.get("spec") or {}).get("restartPolicy", "Always")
            gone = not self._refresh()
            if (
                gone
                or self._deleting()
                or policy == "Never"
                or (policy == "OnFailure" and code == 0)
            ):
                self.run_state.state = state
                self.run_state.phase = "Succeeded" if code == 0 else "Failed"
                if not gone:
                    self._write()
                    if self._deleting():
                        podapi.delete_pod(self.host.core, self.pod)
                return
            if time.monotonic() - ran_from > BACKOFF_RESET_SECONDS:
                backoff = 0.0
            self.run_state.last_state = state
            self.run_state.restart_count += 1
            if backoff:
                meta = self.pod["metadata"]
                container = self.pod["spec"]["containers"][0]["name"]
                self.run_state.state = ContainerState(
                    "waiting",
                    "CrashLoopBackOff",
                    f"back-off {int(backoff)}s restarting failed container={container} "
                    f"pod={meta['name']}_{meta['namespace']}({self.uid})",
                )
                self._write()
                self._pause(backoff)
            backoff = min(MAX_BACKOFF_SECONDS, max(backoff * 2, self.host.restart_backoff_seconds))

    def _end_unstarted(self) -> None:
        """A pod deleted before its container ran: it ends Failed, then goes."""
        run = self.run_state
        if run.state.kind != "terminated":  # waiting: the last run's end, if there was one
            run.state, run.last_state = run.last_state or lost_state(), None
        run.phase = "Succeeded" if run.state.exit_code == 0 else "Failed"
        self.run_state.sandbox = False
        self._write()
        podapi.delete_pod(self.host.core, self.pod)

    def _prepare(self) -> tuple[list[str], dict[str, str], PodVolumes]:
        host, pod = self.host, self.pod
        spec = pod.get("spec") or {}
        container = (spec.get("containers") or [{}])[0]
        lookup = lambda kind, ns, name: podapi.lookup(host.core, kind, ns, name)  # noqa: E731
        env_error: ContainerConfigError | None = None
        env: dict[str, str] = {}
        try:
            env = container_env(
                pod,
                container,
                lookup,
                base_env=host.base_env,
                api_host=host.api_host,
                api_port=host.api_port,
                extra_env=host.pod_env,
                images=host.images,
            )
            argv = container_argv(container, env)
            if spec.get("initContainers"):
                raise ContainerConfigError(
                    "init containers are not supported by the process kubelet"
                )
        except ContainerConfigError as error:
            env_error, argv = error, []
        volumes = prepare_volumes(
            pod,
            container,
            env,
            pod_dir=self.pod_dir,
            claims_root=host.workdir / "volumes",
            lookup=lookup,
            request_token=self._request_token,
            ca_file=host.ca_file,
        )
        if env_error is not None:
            raise env_error
        return argv, env, volumes

    def _request_token(self, account: str, audience: str | None, seconds: int) -> tuple[str, int]:
        """A TokenRequest the API server refuses (its ServiceAccount not made yet, or already
        deleted with its owner) is a kubelet's FailedMount: the pod waits in ContainerCreating
        and, once deleted, goes, instead of being given up on and left terminating."""
        try:
            return podapi.request_token(self.host.core, self.pod, account, audience, seconds)
        except ApiException as error:
            try:
                reason = str(json.loads(error.body or "{}").get("message") or error.reason)
            except ValueError:
                reason = str(error.reason)
            raise VolumeError(f"failed to fetch token for {account!r}: {reason}") from error

    def _start(self) -> str | None:
        """Start the container; its start time, or None when it must wait (status written)."""
        image = str(self.pod["spec"]["containers"][0].get("image") or "")
        if unpullable(image):
            self.run_state.sandbox = True
            self._waiting("ErrImagePull", f'Failed to pull image "{image}": no such host')
            return None
        try:
            argv, env, volumes = self._prepare()
        except VolumeError as error:
            self.run_state.sandbox = False
            self._waiting("ContainerCreating", f"Unable to attach or mount volumes: {error}")
            return None
        except ContainerConfigError as error:
            self.run_state.sandbox = True
            self._waiting("CreateContainerConfigError", str(error))
            return None
        container = self.pod["spec"]["containers"][0]
        self.volumes = volumes
        self.termination_log = self.pod_dir / f"termination-log-{self.run_state.restart_count}"
        self.termination_log.parent.mkdir(parents=True, exist_ok=True)
        self.termination_log.write_bytes(b"")
        mounts = list(volumes.mounts)
        mounts.append(
            Mount(
                self.termination_log,
                str(container.get("terminationMessagePath") or DEFAULT_TERMINATION_PATH),
            )
        )
        if not any(m.target.rstrip("/") == "/tmp" for m in mounts):  # noqa: S108 - the pod's /tmp
            scratch = self.pod_dir / "tmp"
            scratch.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(scratch, "/tmp"))  # noqa: S108
        hosts = self.pod_dir / "hosts"
        hosts.write_text(_hosts_file(self.pod, podapi.service_names(self.host.core, self.pod)))
        mounts.append(Mount(hosts, "/etc/hosts"))
        name = str(self.pod["metadata"]["name"])[:63]
        cwd = str(container.get("workingDir") or "/")
        self.process = ContainerProcess(
            lambda fd: bwrap_argv(
                argv, mounts, hostname=name, cwd=cwd, info_fd=fd, keep=self.host.keep
            ),
            env=env,
            log_path=self.host.log_path(self.pod),
        )
        self.process.start()
        started = now()
        self.readiness = Readiness(container)
        self.run_state.ready = self.readiness.ready
        self.run_state.sandbox = True
        self.run_state.phase = "Running"
        self.run_state.state = ContainerState(
            "running", started_at=started, container_id=f"process://{self.process.pid or 0}"
        )
        self._write()
        return started

    def _waiting(self, reason: str, message: str) -> None:
        """The container waits for `reason`: written once per change."""
        state = ContainerState("waiting", reason, message)
        if state != self.run_state.state:
            log.info("pod %s waits: %s: %s", self.name, reason, message)
            self.run_state.state = state
            self._write()

    def _wait(self) -> int | None:
        """Wait for the process to end; stop it on deletion. None when the kubelet stops."""
        process = self.process
        assert process is not None
        while True:
            code = process.wait(POLL_SECONDS)
            if code is not None:
                process.stop(0)  # whatever it left running in its group goes with it
                return code
            if self.host.stopping.is_set():
                process.stop(min(self._grace(), self.host.stop_grace_seconds))
                return None
            if self.wake.is_set():
                self.wake.clear()
                present = self._refresh()
                if not present or self._deleting():
                    return process.stop(self._grace() if present else FORCED_GRACE_SECONDS)
            if self.readiness.tick():
                self.run_state.ready = self.readiness.ready
                self._write()
            if self.volumes.renew_at is not None and time.monotonic() >= self.volumes.renew_at:
                try:
                    self.volumes.renew()
                except Exception:
                    log.exception("pod %s: renewing its token failed", self.name)

    def _terminated(self, code: int, started: str) -> ContainerState:
        process = self.process
        assert process is not None
        container = self.pod["spec"]["containers"][0]
        message = termination_message(
            self.termination_log,
            str(container.get("terminationMessagePolicy") or "File"),
            code,
            process.log_path,
            process.log_offset,
        )
        return ContainerState(
            "terminated",
            terminated_reason(code),
            message,
            code,
            started,
            now(),
            container_id=self.run_state.state.container_id,
        )
