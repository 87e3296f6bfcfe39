"""Kueue on the dev cluster: the upstream `kueue` manager as a process, its webhooks on loopback.

`make setup` builds Kueue (scripts/build-kueue.sh, version pinned there) and copies beside the
binary the parts of the module's config/ that are applied here. `Kueue.start()`:

1. applies Kueue's CRDs; those whose kustomization enables the conversion webhook get it at
   ``https://127.0.0.1:<webhook port>/convert`` (Kueue stores v1beta2 and converts v1beta1
   through it), with the test bed's CA as the caBundle;
2. applies Kueue's Mutating/ValidatingWebhookConfigurations for its own API and batch Jobs
   (the mutating one suspends queue-labelled Jobs), each webhook's `service:` replaced by a
   `url:` on the same loopback port; webhooks of integrations that are off are left out;
3. makes the ServiceAccount ``kueue-system/kueue-controller-manager``, binds Kueue's own
   ClusterRole and its Role in ``kueue-system`` (secrets) to it and hands Kueue a kubeconfig
   holding its bound token;
4. writes Kueue's Configuration: only the ``batch/job`` integration, only in namespaces
   labelled ``wattcast.dev/kueue=managed`` (`Kueue.manage`), no leader election, no
   internal certificate management (the webhook serves the test bed's serving certificate,
   which names 127.0.0.1, from its certDir), free loopback ports for the webhook, the health
   probes and the metrics;
5. starts the manager and waits for ``/readyz`` and then for the webhooks to answer through
   the API server (a server-side dry run of a v1beta1 ClusterQueue and of a queue-labelled
   Job, which must come back suspended).

Kueue reads its metrics certificate from the fixed path ``/etc/kueue/metrics/certs`` when it
manages no certificates, so it runs in a bubblewrap sandbox (:mod:`.sandbox`) that shows it the
test bed's certificate there; the host is not written.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from wattcast.devtools.cluster.access import (
    apply,
    create_namespace,
    ensure_service_account,
    kubectl,
    service_account_kubeconfig,
)
from wattcast.devtools.cluster.controlplane import ControlPlane
from wattcast.devtools.cluster.sandbox import bwrap_argv
from wattcast.devtools.cluster.volumes import Mount
from wattcast.devtools.processes import Service, StartError, free_port, repo_root

BINARY_NAME = "kueue"
GROUP = "kueue.x-k8s.io"
NAMESPACE = "kueue-system"
SERVICE_ACCOUNT = "kueue-controller-manager"
CLUSTER_ROLE = "kueue-manager-role"
SECRETS_ROLE = "kueue-manager-secrets-role"
# The API groups whose webhooks are installed: Kueue's own and batch (the one integration on).
WEBHOOK_GROUPS = frozenset({GROUP, "batch"})
METRICS_CERT_DIR = "/etc/kueue/metrics/certs"  # fixed in Kueue's main without cert management
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
# Kueue manages Jobs only in namespaces with this label (managedJobsNamespaceSelector, always
# respected since Kueue 0.15): other tests of the session, which play Kueue's part by hand,
# keep their queue-labelled Jobs to themselves.
MANAGED_LABEL = ("wattcast.dev/kueue", "managed")


class KueueMissing(FileNotFoundError):
    """Kueue has not been built (`make setup`)."""


@dataclass(frozen=True)
class KueueBuild:
    """The built manager and the copy of the module's config/ beside it."""

    binary: Path
    config: Path
    version: str

    @property
    def crd_dir(self) -> Path:
        return self.config / "crd"


def find_build() -> KueueBuild:
    """Kueue's build: $WATTCAST_KUEUE_BIN, else .work/bin/kueue in the repository."""
    env = os.environ.get("WATTCAST_KUEUE_BIN")
    link = Path(env) if env else repo_root() / ".work" / "bin" / BINARY_NAME
    binary = link.resolve()
    version_file = binary.parent / "VERSION"
    if not binary.is_file() or not os.access(binary, os.X_OK) or not version_file.is_file():
        raise KueueMissing(
            f"Kueue is not built ({link}): run `make setup` (scripts/build-kueue.sh builds it "
            "and links it as .work/bin/kueue) or set WATTCAST_KUEUE_BIN to the binary"
        )
    return KueueBuild(binary, binary.parent / "config", version_file.read_text().strip())


def _documents(path: Path) -> list[dict[str, Any]]:
    # libyaml's loader: Kueue's CRDs are 2 MB of YAML (seconds with the pure-Python one).
    return [doc for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if doc]


def conversion_crd_names(crd_dir: Path) -> set[str]:
    """The CRDs whose conversion webhook Kueue's kustomization enables (its `patches:`)."""
    kustomization = yaml.safe_load((crd_dir / "kustomization.yaml").read_text())
    names = set()
    for entry in kustomization.get("patches") or []:
        for patch in _documents(crd_dir / entry["path"]):
            conversion = (patch.get("spec") or {}).get("conversion") or {}
            if conversion.get("strategy") == "Webhook":
                names.add(patch["metadata"]["name"])
    return names


def crd_documents(build: KueueBuild, webhook_url: str, ca_bundle: str) -> list[dict[str, Any]]:
    """Kueue's CRDs, the conversion webhook of those that have one at `webhook_url`/convert."""
    converting = conversion_crd_names(build.crd_dir)
    crds = []
    for path in sorted(build.crd_dir.glob("kueue.x-k8s.io_*.yaml")):
        for crd in _documents(path):
            if crd["metadata"]["name"] in converting:
                crd["spec"]["conversion"] = {
                    "strategy": "Webhook",
                    "webhook": {
                        "clientConfig": {"url": f"{webhook_url}/convert", "caBundle": ca_bundle},
                        "conversionReviewVersions": ["v1"],
                    },
                }
            crds.append(crd)
    return crds


def webhook_configurations(
    build: KueueBuild, webhook_url: str, ca_bundle: str
) -> list[dict[str, Any]]:
    """Kueue's webhook configurations for its API and Jobs, each webhook called by URL."""
    configurations = []
    for configuration in _documents(build.config / "webhook" / "manifests.yaml"):
        kept = []
        for webhook in configuration.get("webhooks") or []:
            groups = {g for rule in webhook.get("rules") or [] for g in rule["apiGroups"]}
            if not groups or not groups <= WEBHOOK_GROUPS:
                continue
            path = webhook["clientConfig"]["service"]["path"]
            webhook["clientConfig"] = {"url": f"{webhook_url}{path}", "caBundle": ca_bundle}
            kept.append(webhook)
        configuration["metadata"] = {"name": f"kueue-{configuration['metadata']['name']}"}
        configuration["webhooks"] = kept
        configurations.append(configuration)
    return configurations


def rbac_documents(build: KueueBuild) -> list[dict[str, Any]]:
    """Kueue's own ClusterRole and its Role in its namespace (secrets), bound to its
    ServiceAccount."""
    rbac = build.config / "rbac"
    (cluster_role,) = [d for d in _documents(rbac / "role.yaml") if d["kind"] == "ClusterRole"]
    (role,) = [d for d in _documents(rbac / "manager_secrets_role.yaml") if d["kind"] == "Role"]
    cluster_role["metadata"] = {"name": CLUSTER_ROLE}
    role["metadata"] = {"name": SECRETS_ROLE, "namespace": NAMESPACE}
    subjects = [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}]
    return [
        cluster_role,
        _binding("ClusterRoleBinding", CLUSTER_ROLE, {}, subjects),
        role,
        _binding("RoleBinding", SECRETS_ROLE, {"namespace": NAMESPACE}, subjects),
    ]


def _binding(
    kind: str, role: str, metadata: dict[str, str], subjects: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": role, **metadata},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": kind.removesuffix("Binding"),
            "name": role,
        },
        "subjects": subjects,
    }


def manager_configuration(ports: dict[str, int], cert_dir: Path) -> dict[str, Any]:
    """Kueue's Configuration for the test bed (see the module docstring)."""
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "namespace": NAMESPACE,
        "health": {"healthProbeBindAddress": f"127.0.0.1:{ports['health']}"},
        "metrics": {"bindAddress": f"127.0.0.1:{ports['metrics']}"},
        "webhook": {"host": "127.0.0.1", "port": ports["webhook"], "certDir": str(cert_dir)},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "manageJobsWithoutQueueName": False,
        "managedJobsNamespaceSelector": {"matchLabels": dict([MANAGED_LABEL])},
        "integrations": {"frameworks": ["batch/job"]},
    }


class Kueue:
    """See the module docstring. ``start()``/``stop()``, or use as a context manager."""

    def __init__(
        self,
        control_plane: ControlPlane,
        api: client.ApiClient,
        workdir: Path,
        *,
        build: KueueBuild | None = None,
    ) -> None:
        self.control_plane = control_plane
        self.api = api
        self.workdir = workdir.resolve()
        self.build = build or find_build()
        self.ports = {"webhook": free_port(), "health": free_port(), "metrics": free_port()}
        self.service: Service | None = None

    @property
    def version(self) -> str:
        return self.build.version

    @property
    def webhook_url(self) -> str:
        return f"https://127.0.0.1:{self.ports['webhook']}"

    def __enter__(self) -> Kueue:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 120.0) -> Kueue:
        kubeconfig = self.control_plane.kubeconfig
        pki = self.control_plane.pki
        assert pki is not None, "the control plane is not started"
        ca_bundle = base64.b64encode(pki.ca_cert.read_bytes()).decode()
        crds = crd_documents(self.build, self.webhook_url, ca_bundle)
        (crd_file,) = self._write("crds.yaml", crds)
        kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(crd_file))
        names = [f"crd/{crd['metadata']['name']}" for crd in crds]
        kubectl(
            kubeconfig, "wait", "--for=condition=Established", f"--timeout={timeout:.0f}s", *names
        )
        apply(kubeconfig, webhook_configurations(self.build, self.webhook_url, ca_bundle))
        manager_kubeconfig = self._identity()

        certs = self.workdir / "certs"
        certs.mkdir(parents=True, exist_ok=True)
        for name, source in (("tls.crt", pki.server.cert), ("tls.key", pki.server.key)):
            shutil.copyfile(source, certs / name)
        (sandbox_tmp := self.workdir / "tmp").mkdir(exist_ok=True)
        (config_file,) = self._write("config.yaml", [manager_configuration(self.ports, certs)])
        argv = bwrap_argv(
            [
                str(self.build.binary),
                f"--config={config_file}",
                f"--kubeconfig={manager_kubeconfig}",
                # The visibility API server needs an APIService and certificates of its own.
                "--feature-gates=VisibilityOnDemand=false",
            ],
            [Mount(sandbox_tmp, "/tmp"), Mount(certs, METRICS_CERT_DIR, read_only=True)],  # noqa: S108
            hostname="kueue",
            keep=[self.workdir, self.build.binary.parent],
        )
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir)}
        self.service = Service(
            "kueue",
            argv,
            env,
            self.workdir / "kueue.log",
            health_url=f"http://127.0.0.1:{self.ports['health']}/readyz",
        )
        try:
            self.service.start(timeout)
            self._wait_for_webhooks(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _write(self, name: str, documents: list[dict[str, Any]]) -> list[Path]:
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.dump_all(documents, Dumper=yaml.CSafeDumper, sort_keys=False))
        return [path]

    def _identity(self) -> Path:
        """Kueue's ServiceAccount with its ClusterRole; a kubeconfig of its bound token."""
        create_namespace(self.api, NAMESPACE, labels=dict([MANAGED_LABEL]))
        ensure_service_account(self.api, NAMESPACE, SERVICE_ACCOUNT)
        apply(self.control_plane.kubeconfig, rbac_documents(self.build))
        self._wait_authorized()
        return service_account_kubeconfig(
            self.api,
            self.control_plane.server,
            self.control_plane.ca_file,
            NAMESPACE,
            SERVICE_ACCOUNT,
            self.workdir / "kueue.kubeconfig",
        )

    def _wait_authorized(self, timeout: float = 15.0) -> None:
        """Until the API server's authorizer applies both bindings (a moment after the write)."""
        authorization = client.AuthorizationV1Api(self.api)
        deadline = time.monotonic() + timeout
        for attributes in (
            client.V1ResourceAttributes(verb="update", group=GROUP, resource="workloads"),
            client.V1ResourceAttributes(namespace=NAMESPACE, verb="list", resource="secrets"),
        ):
            review = client.V1SubjectAccessReview(
                spec=client.V1SubjectAccessReviewSpec(
                    user=f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
                    groups=["system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}"],
                    resource_attributes=attributes,
                )
            )
            while not getattr(
                authorization.create_subject_access_review(review).status, "allowed", False
            ):
                if time.monotonic() > deadline:
                    raise StartError(f"Kueue's RBAC is not in effect after {timeout:g}s")
                time.sleep(0.05)

    def _wait_for_webhooks(self, timeout: float) -> None:
        """Until the API server reaches the conversion, validating and mutating webhooks."""
        probe_queue = {
            "apiVersion": f"{GROUP}/v1beta1",
            "kind": "ClusterQueue",
            "metadata": {"name": "wattcast-webhook-probe"},
            "spec": {"namespaceSelector": {}},
        }
        probe_job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "webhook-probe", "labels": {QUEUE_LABEL: "probe"}},
            "spec": {
                "suspend": False,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "probe", "image": "probe"}],
                    }
                },
            },
        }
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            assert self.service is not None
            if not self.service.running:
                raise StartError(f"Kueue exited:\n{self.service.log_tail()}")
            try:
                kubectl(
                    self.control_plane.kubeconfig,
                    "create",
                    "--dry-run=server",
                    "-f",
                    "-",
                    stdin=yaml.safe_dump(probe_queue),
                )
                job = yaml.safe_load(
                    kubectl(
                        self.control_plane.kubeconfig,
                        "create",
                        "--dry-run=server",
                        "-n",
                        NAMESPACE,
                        "-o",
                        "json",
                        "-f",
                        "-",
                        stdin=yaml.safe_dump(probe_job),
                    )
                )
                if job["spec"].get("suspend") is True:
                    return
                last = "the Job webhook left a queue-labelled Job unsuspended"
            except RuntimeError as error:
                last = str(error)
            time.sleep(0.2)
        log = self.service.log_tail() if self.service else ""
        raise StartError(f"Kueue's webhooks did not answer in {timeout:g}s ({last}):\n{log}")

    def manage(self, namespace: str) -> None:
        """Let Kueue manage the queue-labelled Jobs of `namespace` (label it)."""
        key, value = MANAGED_LABEL
        client.CoreV1Api(self.api).patch_namespace(
            namespace, {"metadata": {"labels": {key: value}}}
        )

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def log_tail(self, limit: int = 6000) -> str:
        return self.service.log_tail(limit) if self.service else ""
