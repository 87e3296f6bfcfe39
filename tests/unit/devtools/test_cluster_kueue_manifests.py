"""What the test bed makes of Kueue's config/ (devtools cluster/kueue.py): the conversion
webhook on the CRDs Kueue's kustomization names, webhooks called by loopback URL, only those of
Kueue's API and batch Jobs, Kueue's ClusterRole bound to its ServiceAccount, the manager's
Configuration. A small config/ of the same layout stands in for the build's copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from wattcast.devtools.cluster.kueue import (
    KueueBuild,
    KueueMissing,
    conversion_crd_names,
    crd_documents,
    find_build,
    manager_configuration,
    rbac_documents,
    webhook_configurations,
)

URL = "https://127.0.0.1:9443"
CA = "Q0EK"


def crd(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {"group": "kueue.x-k8s.io", "versions": []},
    }


def webhook(name: str, group: str, path: str) -> dict[str, Any]:
    return {
        "name": name,
        "clientConfig": {
            "service": {"name": "webhook-service", "namespace": "system", "path": path}
        },
        "rules": [{"apiGroups": [group], "apiVersions": ["v1"], "resources": ["x"]}],
    }


@pytest.fixture
def build(tmp_path: Path) -> KueueBuild:
    config = tmp_path / "config"
    (config / "crd" / "patches").mkdir(parents=True)
    for name in ("workloads", "resourceflavors"):
        (config / "crd" / f"kueue.x-k8s.io_{name}.yaml").write_text(
            yaml.safe_dump(crd(f"{name}.kueue.x-k8s.io"))
        )
        patch = crd(f"{name}.kueue.x-k8s.io")
        patch["spec"] = {"conversion": {"strategy": "Webhook"}}
        (config / "crd" / "patches" / f"webhook_in_{name}.yaml").write_text(yaml.safe_dump(patch))
    # As upstream: the resourceflavors patch exists but the kustomization leaves it out.
    (config / "crd" / "kustomization.yaml").write_text(
        "resources: []\npatches:\n- path: patches/webhook_in_workloads.yaml\n"
        "#- path: patches/webhook_in_resourceflavors.yaml\n"
    )
    (config / "webhook").mkdir()
    (config / "webhook" / "manifests.yaml").write_text(
        yaml.safe_dump_all(
            [
                {
                    "apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "MutatingWebhookConfiguration",
                    "metadata": {"name": "mutating-webhook-configuration"},
                    "webhooks": [
                        webhook("mjob.kb.io", "batch", "/mutate-batch-v1-job"),
                        webhook("mpod.kb.io", "", "/mutate--v1-pod"),
                        webhook("mdeployment.kb.io", "apps", "/mutate-apps-v1-deployment"),
                    ],
                },
                {
                    "apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "ValidatingWebhookConfiguration",
                    "metadata": {"name": "validating-webhook-configuration"},
                    "webhooks": [
                        webhook("vclusterqueue.kb.io", "kueue.x-k8s.io", "/validate-cq"),
                    ],
                },
            ]
        )
    )
    (config / "rbac").mkdir()
    (config / "rbac" / "role.yaml").write_text(
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: manager-role}\n"
        "rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n"
    )
    (config / "rbac" / "manager_secrets_role.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
        "metadata: {name: manager-secrets-role, namespace: system}\n"
        "rules: [{apiGroups: [''], resources: [secrets], verbs: [list]}]\n"
    )
    return KueueBuild(tmp_path / "kueue", config, "v0.17.0")


def test_conversion_webhook_only_where_the_kustomization_enables_it(build: KueueBuild) -> None:
    assert conversion_crd_names(build.crd_dir) == {"workloads.kueue.x-k8s.io"}
    crds = {c["metadata"]["name"]: c for c in crd_documents(build, URL, CA)}
    assert set(crds) == {"workloads.kueue.x-k8s.io", "resourceflavors.kueue.x-k8s.io"}
    assert crds["workloads.kueue.x-k8s.io"]["spec"]["conversion"] == {
        "strategy": "Webhook",
        "webhook": {
            "clientConfig": {"url": f"{URL}/convert", "caBundle": CA},
            "conversionReviewVersions": ["v1"],
        },
    }
    assert "conversion" not in crds["resourceflavors.kueue.x-k8s.io"]["spec"]


def test_webhooks_are_called_by_url_and_only_for_kueue_and_jobs(build: KueueBuild) -> None:
    mutating, validating = webhook_configurations(build, URL, CA)
    assert mutating["metadata"] == {"name": "kueue-mutating-webhook-configuration"}
    assert validating["metadata"] == {"name": "kueue-validating-webhook-configuration"}
    assert [w["name"] for w in mutating["webhooks"]] == ["mjob.kb.io"]
    assert mutating["webhooks"][0]["clientConfig"] == {
        "url": f"{URL}/mutate-batch-v1-job",
        "caBundle": CA,
    }
    assert [w["clientConfig"]["url"] for w in validating["webhooks"]] == [f"{URL}/validate-cq"]


def test_kueues_roles_are_bound_to_its_service_account(build: KueueBuild) -> None:
    cluster_role, cluster_binding, role, binding = rbac_documents(build)
    assert cluster_role["metadata"] == {"name": "kueue-manager-role"}
    assert cluster_role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    assert role["metadata"] == {"name": "kueue-manager-secrets-role", "namespace": "kueue-system"}
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]
    account = {
        "kind": "ServiceAccount",
        "name": "kueue-controller-manager",
        "namespace": "kueue-system",
    }
    assert cluster_binding["kind"] == "ClusterRoleBinding"
    assert cluster_binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "kueue-manager-role",
    }
    assert binding["kind"] == "RoleBinding"
    assert binding["metadata"] == {
        "name": "kueue-manager-secrets-role",
        "namespace": "kueue-system",
    }
    assert binding["roleRef"]["kind"] == "Role"
    assert cluster_binding["subjects"] == binding["subjects"] == [account]


def test_manager_configuration_is_the_test_beds() -> None:
    config = manager_configuration({"webhook": 1, "health": 2, "metrics": 3}, Path("/certs"))
    assert config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2"
    assert config["webhook"] == {"host": "127.0.0.1", "port": 1, "certDir": "/certs"}
    assert config["health"] == {"healthProbeBindAddress": "127.0.0.1:2"}
    assert config["metrics"] == {"bindAddress": "127.0.0.1:3"}
    assert config["leaderElection"] == {"leaderElect": False}
    assert config["internalCertManagement"] == {"enable": False}
    assert config["integrations"] == {"frameworks": ["batch/job"]}
    assert config["manageJobsWithoutQueueName"] is False
    assert config["managedJobsNamespaceSelector"] == {
        "matchLabels": {"wattcast.dev/kueue": "managed"}
    }


def test_missing_build_says_to_run_make_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATTCAST_KUEUE_BIN", str(tmp_path / "kueue"))
    with pytest.raises(KueueMissing, match="make setup"):
        find_build()
    # A binary without the VERSION the build writes last is an unfinished copy.
    (tmp_path / "kueue").write_text("#!/bin/sh\n")
    (tmp_path / "kueue").chmod(0o755)
    with pytest.raises(KueueMissing):
        find_build()
    (tmp_path / "VERSION").write_text("v0.17.0\n")
    found = find_build()
    assert (found.binary, found.config, found.version) == (
        tmp_path / "kueue",
        tmp_path / "config",
        "v0.17.0",
    )
