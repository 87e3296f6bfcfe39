"""The real control plane of the test bed: etcd, kube-apiserver and kube-controller-manager.

All three are the upstream programs, built from the Go module proxy into one multi-call binary
(devtools/controlplane, `make setup`); each runs in its own process. `ControlPlane.start()`:

1. makes (once per work directory) the CA, the serving and client certificates and the
   ServiceAccount signing keys (:mod:`.pki`);
2. starts etcd with its data in ``WORKDIR/etcd`` on free loopback ports;
3. starts kube-apiserver on a free loopback port: TLS, client certificates, ServiceAccount
   tokens (issuer, signing key), ``--authorization-mode=Node,RBAC``, the default admission
   plugins, an audit log of the lists and watches of Jobs, pods and TrainingJobs made by
   ServiceAccounts (``WORKDIR/logs/audit.log``, :data:`AUDIT_POLICY`: what a test reads to see
   the query a watch sent); waits for ``/readyz``;
4. writes an admin kubeconfig (``O=system:masters``);
5. starts kube-controller-manager with only the controllers the product relies on, each under
   its own ServiceAccount (``--use-service-account-credentials``), and waits until the
   ServiceAccount controller has made the ``default`` ServiceAccount and the root CA
   ConfigMap exists (pods' projected token volumes read it).

Ports are kept in ``WORKDIR/ports.json`` so a restart on the same work directory finds its
etcd data under the same peer address.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import time
from pathlib import Path
from typing import Any

import yaml

from wattcast.devtools.cluster.pki import Pki, ensure_pki
from wattcast.devtools.processes import Service, StartError, free_port, repo_root

BINARY_NAME = "wattcast-controlplane"
SERVICE_CIDR = "10.0.0.0/24"
ISSUER = "https://kubernetes.default.svc.cluster.local"

# kube-controller-manager's controllers that wattcast relies on (and no others): Jobs and their
# TTL, garbage collection of owned objects, namespaces, ServiceAccounts and their tokens, pod GC,
# CronJobs (the forecast schedule), the root CA ConfigMap every projected token volume mounts,
# and Deployments/ReplicaSets for installing the chart's components.
CONTROLLERS = (
    "job-controller",
    "garbage-collector-controller",
    "ttl-after-finished-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "pod-garbage-collector-controller",
    "cronjob-controller",
    "root-ca-certificate-publisher-controller",
    "deployment-controller",
    "replicaset-controller",
)


# The audit policy: one line per list or watch of the resources the operator watches, by any
# ServiceAccount (the operator's and the controllers'), with its URI (the query string: label
# selectors, resourceVersion). Metadata level, no bodies; everything else goes unlogged.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {
            "level": "Metadata",
            "verbs": ["list", "watch"],
            "userGroups": ["system:serviceaccounts"],
            "resources": [
                {"group": "batch", "resources": ["jobs"]},
                {"group": "", "resources": ["pods"]},
                {"group": "wattcast.dev", "resources": ["trainingjobs"]},
            ],
        },
        {"level": "None"},
    ],
}


class BinaryMissing(FileNotFoundError):
    """The control plane binary has not been built."""


def find_binary() -> Path:
    """The built multi-call binary: $WATTCAST_CONTROLPLANE_BIN, else .work/bin in the repo."""
    env = os.environ.get("WATTCAST_CONTROLPLANE_BIN")
    path = Path(env) if env else repo_root() / ".work" / "bin" / BINARY_NAME
    if not path.is_file() or not os.access(path, os.X_OK):
        raise BinaryMissing(
            f"the control plane binary is not built ({path}): run `make setup` "
            "(the first build takes about 20-30 minutes)"
        )
    return path


def kubeconfig_document(
    server: str, ca_cert: Path, auth: dict[str, str], user: str = "admin"
) -> dict[str, Any]:
    """A kubeconfig for `server`; `auth` is the user entry (client certificate or token)."""
    ca = base64.b64encode(ca_cert.read_bytes()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "wattcast-dev",
                "cluster": {"server": server, "certificate-authority-data": ca},
            }
        ],
        "users": [{"name": user, "user": auth}],
        "contexts": [
            {"name": "wattcast-dev", "context": {"cluster": "wattcast-dev", "user": user}}
        ],
        "current-context": "wattcast-dev",
    }


def client_cert_auth(cert: Path, key: Path) -> dict[str, str]:
    return {
        "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
        "client-key-data": base64.b64encode(key.read_bytes()).decode(),
    }


def write_kubeconfig(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path


class ControlPlane:
    """See the module docstring. ``start()``/``stop()``, or use as a context manager."""

    def __init__(
        self,
        workdir: Path,
        *,
        kubeconfig: Path | None = None,
        binary: Path | None = None,
        verbosity: int = 1,
    ) -> None:
        self.workdir = workdir.resolve()
        self.kubeconfig = (kubeconfig or self.workdir / "kubeconfig").resolve()
        self._binary = binary
        self.verbosity = verbosity
        self.etcd: Service | None = None
        self.apiserver: Service | None = None
        self.controller_manager: Service | None = None
        self.pki: Pki | None = None
        self.ports: dict[str, int] = {}

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def ca_file(self) -> Path:
        assert self.pki is not None
        return self.pki.ca_cert

    @property
    def audit_log(self) -> Path:
        """JSON lines, one audit event each (:data:`AUDIT_POLICY` says which are logged)."""
        return self.workdir / "logs" / "audit.log"

    def audit_events(self) -> list[dict[str, Any]]:
        """The audit log's events so far (oldest first)."""
        if not self.audit_log.exists():
            return []
        lines = self.audit_log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    @property
    def services(self) -> list[Service]:
        return [s for s in (self.etcd, self.apiserver, self.controller_manager) if s]

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- start ---------------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> ControlPlane:
        binary = self._binary or find_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pki = ensure_pki(self.workdir / "pki")
        self.ports = self._ports()
        logs = self.workdir / "logs"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir)}
        try:
            self.etcd = Service(
                "etcd",
                [str(binary), "etcd", *self._etcd_flags()],
                env,
                logs / "etcd.log",
                health_url=f"http://127.0.0.1:{self.ports['etcd']}/health",
            ).start(timeout)
            self.apiserver = Service(
                "kube-apiserver",
                [str(binary), "kube-apiserver", *self._apiserver_flags()],
                env,
                logs / "kube-apiserver.log",
                health_url=f"{self.server}/readyz",
                health_ssl=self._admin_ssl(),
            ).start(timeout)
            write_kubeconfig(
                self.kubeconfig,
                kubeconfig_document(
                    self.server,
                    self.pki.ca_cert,
                    client_cert_auth(self.pki.admin.cert, self.pki.admin.key),
                ),
            )
            self.controller_manager = Service(
                "kube-controller-manager",
                [str(binary), "kube-controller-manager", *self._controller_manager_flags()],
                env,
                logs / "kube-controller-manager.log",
            ).start(timeout)
            self._wait_for_controllers(self.controller_manager, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _ports(self) -> dict[str, int]:
        saved = self.workdir / "ports.json"
        if saved.exists():
            return dict(json.loads(saved.read_text()))
        ports = {"etcd": free_port(), "etcd-peer": free_port(), "apiserver": free_port()}
        saved.write_text(json.dumps(ports))
        return ports

    def _etcd_flags(self) -> list[str]:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        return [
            "--name=wattcast-dev",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=wattcast-dev={peer}",
            # A throw-away test bed: skip fsync (much faster on shared disks, data may be lost
            # on a power cut, which nobody minds here).
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ]

    def _apiserver_flags(self) -> list[str]:
        assert self.pki is not None
        pki = self.pki
        policy = self.workdir / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(AUDIT_POLICY))
        self.audit_log.parent.mkdir(parents=True, exist_ok=True)
        return [
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports['apiserver']}",
            f"--tls-cert-file={pki.server.cert}",
            f"--tls-private-key-file={pki.server.key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--service-account-issuer={ISSUER}",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            "--authorization-mode=Node,RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # No kube-proxy and no pod network: the `kubernetes` Service's endpoints would name
            # a loopback address no pod could use, so they are not maintained.
            "--endpoint-reconciler-type=none",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            "--profiling=false",
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json",
            # Written before the answer is sent: a test that saw the watch start finds its line.
            "--audit-log-mode=blocking",
            "--audit-log-maxsize=100",
            "--audit-log-maxbackup=1",
            f"--v={self.verbosity}",
        ]

    def _controller_manager_flags(self) -> list[str]:
        assert self.pki is not None
        pki = self.pki
        kubeconfig = write_kubeconfig(
            self.workdir / "controller-manager.kubeconfig",
            kubeconfig_document(
                self.server,
                pki.ca_cert,
                client_cert_auth(pki.controller_manager.cert, pki.controller_manager.key),
                user="system:kube-controller-manager",
            ),
        )
        return [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--controllers=" + ",".join(CONTROLLERS),
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            f"--v={self.verbosity}",
        ]

    def _admin_ssl(self) -> ssl.SSLContext:
        assert self.pki is not None
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin.cert), str(self.pki.admin.key))
        return context

    def get(self, path: str) -> Any:
        """GET `path` on the API server as the admin (JSON), or None on 404."""
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(  # noqa: S310 - our own loopback URL
                f"{self.server}{path}", timeout=5, context=self._admin_ssl()
            ) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def _wait_for_controllers(self, controller_manager: Service, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wanted = (
            "/api/v1/namespaces/default/serviceaccounts/default",
            "/api/v1/namespaces/default/configmaps/kube-root-ca.crt",
        )
        while time.monotonic() < deadline:
            if not controller_manager.running:
                raise StartError(
                    f"kube-controller-manager exited:\n{controller_manager.log_tail()}"
                )
            if all(self.get(path) is not None for path in wanted):
                return
            time.sleep(0.2)
        raise StartError(
            "kube-controller-manager did not make the default ServiceAccount in "
            f"{timeout:g}s:\n{controller_manager.log_tail()}"
        )

    # --- stop ----------------------------------------------------------------------------

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.etcd = self.apiserver = self.controller_manager = None
