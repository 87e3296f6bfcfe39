"""The whole system on one machine: what `make demo`, the end-to-end tests and the benchmarks run.

`LocalStack` starts, in order, and stops in reverse:

1. a real InfluxDB of the test bed (:func:`~wattcast.devtools.testbed.instance.start_influx`),
   authentication on: by default InfluxDB 2 with Flux, the seed's store (org `wattcast`, bucket
   `energy`); with ``influx_flavor=1`` Debian's 1.6 with InfluxQL (database `energy`);
2. the dev cluster (:class:`~wattcast.devtools.cluster.devcluster.DevCluster`): upstream
   etcd, kube-apiserver and kube-controller-manager, and the process kubelet with `capacity`
   pod slots; the TrainingJob CRD;
3. the chart's ServiceAccounts and RBAC (rendered from charts/wattcast), the InfluxDB token
   Secret `influx-token` (a token that may only read: trainers never write to InfluxDB) and
   the model store claim `wattcast-models` in the namespace;
4. the operator (`wattcast-operator`) under its chart ServiceAccount's token, its default
   source that InfluxDB in its dialect, plus a named source `offline` pointing at a closed
   port (the "InfluxDB is down" drill);
5. the REST API (`wattcast-api`) under its own ServiceAccount, with a generated bearer token,
   the model store (read-only) and that InfluxDB (the read-only token) as the source of its
   forecasts.

Trainer pods run as the chart's trainer ServiceAccount, started by the real Job controller and
run by the kubelet. Each process logs to a file in the work directory; `logs()` gathers their
tails for a failure report.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from kubernetes import client

from wattcast.devtools.cluster.access import api_client, install_crds
from wattcast.devtools.cluster.chart import component_kubeconfig, install_identities
from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.devtools.cluster.fixtures import crd_paths
from wattcast.devtools.processes import Service, StartError, bin_path, free_port
from wattcast.devtools.testbed.instance import (
    Flavor,
    InfluxConnection,
    RunningInflux,
    start_influx,
)

DATABASE = "energy"  # InfluxDB 1.x's database, InfluxDB 2's bucket
TOKEN_SECRET = "influx-token"  # noqa: S105 - a Secret's name
MODELS_CLAIM = "wattcast-models"
OFFLINE_SOURCE = "offline"
NAMESPACE = "default"

__all__ = ["LocalStack", "StackOptions", "StartError", "models_dir_of"]


def models_dir_of(workdir: Path) -> Path:
    """The model store of a stack in `workdir`: the kubelet's folder for the models claim."""
    return workdir.resolve() / "cluster" / "kubelet" / "volumes" / NAMESPACE / MODELS_CLAIM


@dataclass
class StackOptions:
    """How to build the stack; the defaults are the demo's."""

    workdir: Path
    capacity: int = 2
    pod_env: dict[str, str] = field(default_factory=dict)
    operator_env: dict[str, str] = field(default_factory=dict)
    api_token: str | None = None
    api_port: int | None = None
    influx_flavor: Flavor = 2


class LocalStack:
    """See the module docstring. Use as a context manager, or start()/stop()."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.workdir = options.workdir.resolve()
        self.token = options.api_token or secrets.token_urlsafe(24)
        self.cluster = DevCluster(
            self.workdir / "cluster", capacity=options.capacity, pod_env=options.pod_env
        )
        self.influx: RunningInflux | None = None
        self.operator: Service | None = None
        self.api: Service | None = None
        self.admin: client.ApiClient | None = None
        self.api_url = ""
        self._operator_generation = 0

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (what a user's kubectl uses)."""
        return self.cluster.kubeconfig

    @property
    def models_dir(self) -> Path:
        """The model store: the kubelet's folder for the models claim."""
        return models_dir_of(self.workdir)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- life ----------------------------------------------------------------------------

    def start(self) -> LocalStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_influx()
            self.start_cluster()
            self.start_operator()
            self.start_api()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything started, in reverse order; safe to call twice."""
        for service in (self.api, self.operator):
            if service is not None:
                service.stop()
        if self.admin is not None:
            self.admin.close()  # type: ignore[no-untyped-call]
            self.admin = None
        self.cluster.stop()
        if self.influx is not None:
            self.influx.stop()
            self.influx = None

    # --- components ------------------------------------------------------------------------

    def start_influx(self) -> None:
        self.influx = start_influx(
            self.options.influx_flavor,
            workdir=self.workdir / "influx",
            bucket=DATABASE,
            database=DATABASE,
        )

    @property
    def connection(self) -> InfluxConnection:
        """How to reach the stack's InfluxDB (url, dialect, org/bucket or database, tokens)."""
        assert self.influx is not None, "InfluxDB is not started"
        return self.influx.connection

    def source_env(self, prefix: str) -> dict[str, str]:
        """The stack's InfluxDB as `<prefix>URL`, `DIALECT`, `ORG`/`BUCKET` or `DATABASE`."""
        source, _ = self.connection.source()
        return {f"{prefix}{key.upper()}": value for key, value in source.items()}

    def start_cluster(self) -> None:
        """The dev cluster with the CRD, the chart's identities, the Secret and the claim."""
        self.cluster.start()
        self.admin = api_client(self.kubeconfig)
        install_crds(self.kubeconfig, *crd_paths())
        install_identities(self.admin, self.kubeconfig, {"trainingNamespaces": [NAMESPACE]})
        core = client.CoreV1Api(self.admin)
        core.create_namespaced_secret(
            NAMESPACE,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name=TOKEN_SECRET),
                string_data={"token": self.connection.read_token},
            ),
        )
        core.create_namespaced_persistent_volume_claim(
            NAMESPACE,
            client.V1PersistentVolumeClaim(
                metadata=client.V1ObjectMeta(name=MODELS_CLAIM),
                spec=client.V1PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteOnce"],
                    resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
                ),
            ),
        )
        self.models_dir.mkdir(parents=True, exist_ok=True)

    def _component_kubeconfig(self, component: str) -> Path:
        assert self.admin is not None
        return component_kubeconfig(
            self.admin,
            self.cluster.server,
            self.cluster.control_plane.ca_file,
            component,
            self.workdir / f"{component}.kubeconfig",
        )

    def sources_file(self) -> Path:
        path = self.workdir / "sources.yaml"
        if not path.exists():
            # A source nobody listens on: the drill for "InfluxDB is down".
            path.write_text(
                f"- name: {OFFLINE_SOURCE}\n  url: http://127.0.0.1:{free_port()}\n"
                f"  dialect: influxql\n  database: {DATABASE}\n"
            )
        return path

    def start_operator(self) -> Service:
        assert self.influx is not None
        self._operator_generation += 1
        health = free_port()
        env = {
            **os.environ,
            "KUBECONFIG": str(self._component_kubeconfig("operator")),
            "WATTCAST_NAMESPACES": NAMESPACE,
            **self.source_env("WATTCAST_INFLUX_"),
            "WATTCAST_INFLUX_TOKEN_SECRET": f"{TOKEN_SECRET}/token",
            "WATTCAST_INFLUX_SOURCES_FILE": str(self.sources_file()),
            "WATTCAST_TRAINER_IMAGE": "wattcast-trainer:local",
            "WATTCAST_METRICS_PORT": str(free_port()),
            "WATTCAST_HEALTH_PORT": str(health),
            "WATTCAST_LOG_FORMAT": "plain",
            **self.options.operator_env,
        }
        self.operator = Service(
            "operator",
            [bin_path("wattcast-operator"), "--verbose"],
            env,
            self.workdir / "logs" / f"operator-{self._operator_generation}.log",
            health_url=f"http://127.0.0.1:{health}/healthz",
        ).start(timeout=90)
        return self.operator

    def start_api(self) -> None:
        assert self.influx is not None
        port = self.options.api_port or free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "WATTCAST_API_KUBECONFIG": str(self._component_kubeconfig("api")),
            "WATTCAST_API_NAMESPACE": NAMESPACE,
            "WATTCAST_API_TOKENS": self.token,
            "WATTCAST_INFLUX_URL": self.connection.url,
            "WATTCAST_INFLUX_SOURCES_FILE": str(self.sources_file()),
            "WATTCAST_MODELS_DIR": str(self.models_dir),
            "WATTCAST_LOG_FORMAT": "plain",
            # The source the API's forecasts read (the seed's variables, the read-only token).
            **self.source_env("INFLUX_"),
            "INFLUX_TOKEN": self.connection.read_token,
        }
        env.pop("KUBECONFIG", None)
        self.api = Service(
            "api",
            [bin_path("wattcast-api"), "--host", "127.0.0.1", "--port", str(port)],
            env,
            self.workdir / "logs" / "api.log",
            health_url=f"{self.api_url}/readyz",
        ).start(timeout=60)

    def restart_operator(self, *, kill: bool = True) -> Service:
        """Kill (or stop) the operator and start a new one, as a crash and a restart would."""
        if self.operator is not None:
            if kill:
                self.operator.kill()
            else:
                self.operator.stop()
        return self.start_operator()

    # --- reading ---------------------------------------------------------------------------

    def logs(self) -> str:
        """The tails of every component's log, for a failure report."""
        parts = [self.cluster.logs(2000)]
        for service in (self.operator, self.api):
            if service is not None:
                parts.append(f"--- {service.name} ({service.log_path}) ---\n{service.log_tail()}")
        pods = sorted(
            (self.cluster.workdir / "kubelet" / "logs").glob("*.log"),
            key=lambda p: p.stat().st_mtime,
        )
        for log in pods[-4:]:
            parts.append(f"--- pod {log.stem} ---\n{log.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def env(self) -> dict[str, Any]:
        """What a user needs to talk to the stack."""
        return {
            "WATTCAST_API_URL": self.api_url,
            "WATTCAST_API_TOKEN": self.token,
            "KUBECONFIG": str(self.kubeconfig),
        }

    def write_meter(self, meter_type: str, meter_id: str, frame: pd.DataFrame) -> int:
        """Write a meter's readings into the stack's InfluxDB in the seed's format."""
        assert self.influx is not None
        return self.influx.write_meter(meter_type, meter_id, frame)
