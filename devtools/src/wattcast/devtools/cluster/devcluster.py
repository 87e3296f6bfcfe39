"""A whole one-node development cluster: the real control plane plus the process kubelet.

`DevCluster` is what `wattcast-devcluster`, the tests, the demo and the benchmarks start. The
control plane is upstream Kubernetes (:mod:`.controlplane`); the kubelet is ours
(:mod:`.kubelet`): it registers one Ready Node, binds pending pods to it up to `capacity`, and
runs each pod's container command as a local process. The real Job controller does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wattcast.devtools.cluster.controlplane import ControlPlane

NODE_NAME = "wattcast-dev"


class DevCluster:
    """See the module docstring. ``start()``/``stop()``, or use as a context manager."""

    def __init__(
        self,
        workdir: Path,
        *,
        kubeconfig: Path | None = None,
        capacity: int = 2,
        kubelet: bool = True,
        pod_env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir.resolve()
        self.control_plane = ControlPlane(
            self.workdir / "control-plane", kubeconfig=kubeconfig or self.workdir / "kubeconfig"
        )
        self.capacity = capacity
        self.with_kubelet = kubelet
        self.pod_env = dict(pod_env or {})
        self.kubelet: Any = None

    @property
    def kubeconfig(self) -> Path:
        return self.control_plane.kubeconfig

    @property
    def server(self) -> str:
        return self.control_plane.server

    def __enter__(self) -> DevCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> DevCluster:
        self.control_plane.start()
        if self.with_kubelet:
            try:
                self.kubelet = self._start_kubelet()
            except BaseException:
                self.control_plane.stop()
                raise
        return self

    def _start_kubelet(self) -> Any:
        from wattcast.devtools.cluster.kubelet import ProcessKubelet

        return ProcessKubelet(
            self.kubeconfig,
            self.workdir / "kubelet",
            node_name=NODE_NAME,
            capacity=self.capacity,
            pod_env=self.pod_env,
            api_port=self.control_plane.ports["apiserver"],
            ca_file=self.control_plane.ca_file,
        ).start()

    def stop(self) -> None:
        if self.kubelet is not None:
            self.kubelet.stop()
            self.kubelet = None
        self.control_plane.stop()

    def logs(self, limit: int = 3000) -> str:
        """The tails of the control plane's logs, for a failure report."""
        return "\n".join(
            f"--- {s.name} ---\n{s.log_tail(limit)}" for s in self.control_plane.services
        )
