"""The test bed's control plane is upstream Kubernetes: real version, real RBAC, real CRDs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from wattcast.devtools.cluster.access import (
    api_client,
    create_namespace,
    ensure_service_account,
    kubectl,
    service_account_kubeconfig,
)
from wattcast.devtools.cluster.devcluster import DevCluster

KUBERNETES_VERSION = "v1.34.4"


def test_version_reports_the_upstream_release(devcluster: DevCluster) -> None:
    version = json.loads(kubectl(devcluster.kubeconfig, "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == KUBERNETES_VERSION
    assert version["serverVersion"]["minor"] == "34"


def test_the_trainingjob_crd_is_established_with_its_rules(devcluster: DevCluster) -> None:
    crd = json.loads(
        kubectl(devcluster.kubeconfig, "get", "crd", "trainingjobs.wattcast.dev", "-o", "json")
    )
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions["NamesAccepted"] == "True"


def test_a_serviceaccount_without_rights_is_refused_by_rbac(
    devcluster: DevCluster, kube: client.ApiClient, tmp_path: Path
) -> None:
    create_namespace(kube, "rbac-probe")
    ensure_service_account(kube, "rbac-probe", "nobody")
    path = service_account_kubeconfig(
        kube,
        devcluster.server,
        devcluster.control_plane.ca_file,
        "rbac-probe",
        "nobody",
        tmp_path / "nobody.kubeconfig",
    )
    nobody = api_client(path)
    try:
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(nobody).list_namespaced_pod("rbac-probe")
        assert refused.value.status == 403
        assert "system:serviceaccount:rbac-probe:nobody" in str(refused.value.body)
    finally:
        nobody.close()


def test_devcluster_without_a_built_binary_exits_2_and_says_make_setup(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("wattcast-devcluster")), "--workdir", str(tmp_path)],
        env={"WATTCAST_CONTROLPLANE_BIN": str(tmp_path / "missing"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "make setup" in done.stderr
