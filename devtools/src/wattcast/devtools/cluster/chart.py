"""The chart's identities on the dev cluster: its ServiceAccounts and RBAC, rendered by helm.

The operator, the API and the trainer run on the dev cluster under the ServiceAccounts the
chart gives them, with the chart's own Roles and bindings, so a permission the chart lacks is a
403 in a test. `install_identities` renders just those templates of charts/wattcast with
`helm template` and applies them; `component_kubeconfig` writes a kubeconfig holding a bound
token of one of those ServiceAccounts, for a component that runs as a process.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from wattcast.devtools.cluster.access import (
    apply,
    create_namespace,
    service_account_kubeconfig,
)
from wattcast.devtools.processes import bin_path, repo_root

RELEASE = "wattcast"
RELEASE_NAMESPACE = "wattcast-system"
IDENTITY_KINDS = frozenset(
    {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
)


def render_chart(values: Mapping[str, Any], *, namespace: str = RELEASE_NAMESPACE,
                 release: str = RELEASE) -> list[dict[str, Any]]:
    """`helm template` of charts/wattcast with `values` (a values file, so types are kept)."""
    chart = repo_root() / "charts" / "wattcast"
    done = subprocess.run(
        [bin_path("helm"), "template", release, str(chart), "--namespace", namespace,
         "--values", "-"],
        input=yaml.safe_dump(dict(values)), capture_output=True, text=True, check=False,
        timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"helm template failed: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def identity_objects(documents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in documents if doc.get("kind") in IDENTITY_KINDS]


def install_identities(api: client.ApiClient, kubeconfig: Path, values: Mapping[str, Any],
                       *, namespace: str = RELEASE_NAMESPACE) -> list[dict[str, Any]]:
    """Apply the chart's ServiceAccounts, Roles and bindings for `values`; return them."""
    objects = identity_objects(render_chart(values, namespace=namespace))
    namespaces = {namespace} | {
        doc["metadata"]["namespace"] for doc in objects if doc["metadata"].get("namespace")}
    for name in sorted(namespaces):
        create_namespace(api, name)
    apply(kubeconfig, objects)
    return objects


def component_kubeconfig(api: client.ApiClient, server: str, ca_file: Path, component: str,
                         path: Path, *, namespace: str = RELEASE_NAMESPACE) -> Path:
    """A kubeconfig acting as the chart's ServiceAccount `wattcast-<component>`."""
    return service_account_kubeconfig(api, server, ca_file, namespace,
                                      f"{RELEASE}-{component}", path)
