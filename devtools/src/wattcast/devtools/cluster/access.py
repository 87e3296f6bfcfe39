"""Talking to the dev cluster as its administrator, and making identities for components.

The tests, the demo and the benchmarks use these to set the cluster up: install CRDs, make
namespaces, apply manifests (with kubectl, server-side), and hand a component a kubeconfig
holding a bound token of its own ServiceAccount, so that what it may do is decided by RBAC.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wattcast.crd.kubeapi import load_configuration
from wattcast.devtools.cluster.controlplane import kubeconfig_document, write_kubeconfig
from wattcast.devtools.processes import bin_path


def api_client(kubeconfig: Path) -> client.ApiClient:
    """An official-client ApiClient for `kubeconfig` (one per caller; close it)."""
    return client.ApiClient(load_configuration(kubeconfig))


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    """Run kubectl against the cluster; raise with its stderr on failure."""
    done = subprocess.run(
        [bin_path("kubectl"), f"--kubeconfig={kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def apply(
    kubeconfig: Path, documents: Iterable[dict[str, Any]] | str, namespace: str | None = None
) -> None:
    """`kubectl apply --server-side` the documents (a YAML stream or dicts); none: nothing."""
    text = documents if isinstance(documents, str) else yaml.safe_dump_all(list(documents))
    if not text.strip():
        return
    args = ["apply", "--server-side", "--force-conflicts", "-f", "-"]
    if namespace:
        args += ["-n", namespace]
    kubectl(kubeconfig, *args, stdin=text)


def install_crds(kubeconfig: Path, *paths: Path, timeout: float = 60) -> None:
    """Apply CRD files and wait until every CRD in them is Established."""
    for path in paths:
        kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(path))
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                kubectl(
                    kubeconfig,
                    "wait",
                    "--for=condition=Established",
                    f"--timeout={int(timeout)}s",
                    f"crd/{doc['metadata']['name']}",
                )


def create_namespace(
    api: client.ApiClient, name: str, labels: dict[str, str] | None = None
) -> None:
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
    try:
        client.CoreV1Api(api).create_namespace(body)
    except ApiException as error:
        if error.status != 409:
            raise


def delete_namespace(api: client.ApiClient, name: str, *, wait: float = 0) -> None:
    """Delete a namespace (the namespace controller removes what is in it); optionally wait."""
    core = client.CoreV1Api(api)
    try:
        core.delete_namespace(name)
    except ApiException as error:
        if error.status != 404:
            raise
        return
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            core.read_namespace(name)
        except ApiException as error:
            if error.status == 404:
                return
            raise
        time.sleep(0.2)


def ensure_service_account(api: client.ApiClient, namespace: str, name: str) -> None:
    body = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
    try:
        client.CoreV1Api(api).create_namespaced_service_account(namespace, body)
    except ApiException as error:
        if error.status != 409:
            raise


def service_account_token(
    api: client.ApiClient, namespace: str, name: str, seconds: int = 24 * 3600
) -> str:
    """A bound token of ServiceAccount `namespace/name` (TokenRequest API)."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
    )
    answer = client.CoreV1Api(api).create_namespaced_service_account_token(name, namespace, request)
    return str(answer.status.token)  # type: ignore[union-attr]


def service_account_kubeconfig(
    api: client.ApiClient, server: str, ca_file: Path, namespace: str, name: str, path: Path
) -> Path:
    """Write a kubeconfig that acts as ServiceAccount `namespace/name` (which must exist)."""
    token = service_account_token(api, namespace, name)
    document = kubeconfig_document(
        server, ca_file, {"token": token}, user=f"system:serviceaccount:{namespace}:{name}"
    )
    document["contexts"][0]["context"]["namespace"] = namespace
    return write_kubeconfig(path, document)
