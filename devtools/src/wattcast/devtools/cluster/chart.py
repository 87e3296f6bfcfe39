"""The chart's identities on the dev cluster: its ServiceAccounts and RBAC, rendered by helm.

The operator, the API and the trainer run on the dev cluster under the ServiceAccounts the
chart gives them, with the chart's own Roles and bindings, so a permission the chart lacks is a
403 in a test. `install_identities` renders just those templates of charts/wattcast with
`helm template` and applies them; `component_kubeconfig` writes a kubeconfig holding a bound
token of one of those ServiceAccounts, for a component that runs as a process.
"""

from __future__ import annotations

import subprocess
import time
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


def render_chart(
    values: Mapping[str, Any], *, namespace: str = RELEASE_NAMESPACE, release: str = RELEASE
) -> list[dict[str, Any]]:
    """`helm template` of charts/wattcast with `values` (a values file, so types are kept)."""
    chart = repo_root() / "charts" / "wattcast"
    done = subprocess.run(
        [
            bin_path("helm"),
            "template",
            release,
            str(chart),
            "--namespace",
            namespace,
            "--values",
            "-",
        ],
        input=yaml.safe_dump(dict(values)),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"helm template failed: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def identity_objects(documents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in documents if doc.get("kind") in IDENTITY_KINDS]


def install_identities(
    api: client.ApiClient,
    kubeconfig: Path,
    values: Mapping[str, Any],
    *,
    namespace: str = RELEASE_NAMESPACE,
) -> list[dict[str, Any]]:
    """Apply the chart's ServiceAccounts, Roles and bindings for `values`; return them."""
    objects = identity_objects(render_chart(values, namespace=namespace))
    namespaces = {namespace} | {
        doc["metadata"]["namespace"] for doc in objects if doc["metadata"].get("namespace")
    }
    for name in sorted(namespaces):
        create_namespace(api, name)
    apply(kubeconfig, objects)
    return objects


def wait_until_authorized(
    api: client.ApiClient, documents: list[dict[str, Any]], timeout: float = 15.0
) -> None:
    """Wait until the API server's authorizer applies the new bindings of `documents`.

    RBAC objects take effect when the API server's informers see them, a moment after the
    write; a SubjectAccessReview per binding (its first rule) tells when that has happened.
    """
    roles = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d
        for d in documents
        if d["kind"] == "Role"
    }
    authorization = client.AuthorizationV1Api(api)
    for binding in (d for d in documents if d["kind"] == "RoleBinding"):
        namespace = binding["metadata"]["namespace"]
        role = roles.get((namespace, binding["roleRef"]["name"]))
        if role is None or not role.get("rules"):
            continue
        rule = role["rules"][0]
        for subject in binding.get("subjects") or []:
            if subject.get("kind") != "ServiceAccount":
                continue
            review = client.V1SubjectAccessReview(
                spec=client.V1SubjectAccessReviewSpec(
                    user=f"system:serviceaccount:{subject['namespace']}:{subject['name']}",
                    groups=[
                        "system:serviceaccounts",
                        f"system:serviceaccounts:{subject['namespace']}",
                    ],
                    resource_attributes=client.V1ResourceAttributes(
                        namespace=namespace,
                        verb=rule["verbs"][0],
                        group=rule["apiGroups"][0],
                        resource=rule["resources"][0],
                        name=(rule.get("resourceNames") or [None])[0],
                    ),
                )
            )
            deadline = time.monotonic() + timeout
            while not getattr(
                authorization.create_subject_access_review(review).status, "allowed", False
            ):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"RBAC of {subject['name']} in {namespace} not in effect")
                time.sleep(0.05)


def component_kubeconfig(
    api: client.ApiClient,
    server: str,
    ca_file: Path,
    component: str,
    path: Path,
    *,
    namespace: str = RELEASE_NAMESPACE,
) -> Path:
    """A kubeconfig acting as the chart's ServiceAccount `wattcast-<component>`."""
    return service_account_kubeconfig(
        api, server, ca_file, namespace, f"{RELEASE}-{component}", path
    )


PLACEHOLDER_NAMESPACE = "wattcast-placeholder"


class ChartIdentities:
    """The chart's identities rendered once, granted namespace by namespace (for tests).

    The chart renders its namespaced Roles and RoleBindings for each training (and API)
    namespace; tests make a namespace per test, so the objects rendered for one placeholder
    namespace are applied again in each test's namespace, unchanged but for the namespace.
    """

    def __init__(
        self,
        api: client.ApiClient,
        kubeconfig: Path,
        server: str,
        ca_file: Path,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        self.api, self.kubeconfig, self.server, self.ca_file = api, kubeconfig, server, ca_file
        chart_values = {"trainingNamespaces": [PLACEHOLDER_NAMESPACE], **(values or {})}
        objects = identity_objects(render_chart(chart_values))
        self.namespaced = [
            o for o in objects if o["metadata"].get("namespace") == PLACEHOLDER_NAMESPACE
        ]
        self.release_objects = [o for o in objects if o not in self.namespaced]
        create_namespace(api, RELEASE_NAMESPACE)
        apply(kubeconfig, self.release_objects)

    def grant(self, namespace: str, component: str | None = None) -> None:
        """Apply the chart's objects of a training namespace (of one component) in `namespace`."""
        chosen = [
            o
            for o in self.namespaced
            if component is None
            or o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
        ]
        documents = []
        for obj in chosen:
            copy = yaml.safe_load(yaml.safe_dump(obj))
            copy["metadata"]["namespace"] = namespace
            for subject in copy.get("subjects") or []:
                if subject.get("namespace") == PLACEHOLDER_NAMESPACE:
                    subject["namespace"] = namespace  # the trainer's own ServiceAccount
            documents.append(copy)
        apply(self.kubeconfig, documents)
        wait_until_authorized(self.api, documents)

    def kubeconfig_for(self, component: str, path: Path) -> Path:
        """A kubeconfig acting as the chart's ServiceAccount of `component`."""
        return component_kubeconfig(self.api, self.server, self.ca_file, component, path)
