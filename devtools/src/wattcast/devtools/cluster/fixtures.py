"""Pytest fixtures of the real dev cluster (registered as a plugin in tests/conftest.py).

- ``devcluster`` (session): one :class:`~.devcluster.DevCluster` for the whole run (etcd,
  kube-apiserver, kube-controller-manager, the process kubelet), with wattcast's CRDs
  installed. Tests are isolated by namespace, never by cluster.
- ``devcluster_images`` (session): the kubelet's image table, ``{}`` unless overridden.
- ``kubeconfig`` (session): the admin kubeconfig's path, for the kubernetes client, kubectl
  and subprocesses (``KUBECONFIG``).
- ``kube`` (session): an admin ``kubernetes.client.ApiClient``.
- ``namespace`` (function): a fresh uniquely named namespace, deleted after the test (its
  pods are stopped by the kubelet as the namespace controller deletes them).
- ``chart_identities`` (session): the chart's ServiceAccounts and RBAC
  (:class:`~.chart.ChartIdentities`): ``grant(namespace, component)`` applies a component's
  Role and RoleBinding in a test's namespace, ``kubeconfig_for(component, path)`` acts as it.
- ``api_kubeconfig`` (session): a kubeconfig of the chart's API ServiceAccount.
- ``kueue`` (session, opt-in): Kueue (:mod:`.kueue`) running against ``devcluster`` from the
  first test that requests it to the end of the session; fails when Kueue is not built.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from wattcast.devtools.cluster.access import (
    api_client,
    create_namespace,
    delete_namespace,
    install_crds,
)
from wattcast.devtools.cluster.chart import ChartIdentities
from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.devtools.cluster.kueue import Kueue, KueueMissing, find_build
from wattcast.devtools.processes import repo_root

CRDS = (Path("crds") / "trainingjob.yaml", Path("crds") / "fleettrainingjob.yaml")
# Pods of the session cluster need only three weeks of data to train (tests write little).
POD_ENV = {"WATTCAST_MIN_TRAINING_DAYS": "3"}


def crd_paths() -> list[Path]:
    return [repo_root() / path for path in CRDS if (repo_root() / path).exists()]


@pytest.fixture(scope="session")
def devcluster_images() -> dict[str, Path]:
    """The kubelet's image table (image -> folder first on PATH); a conftest may override it
    for the whole session (tests/conftest.py adds the operator tests' trainer double)."""
    return {}


@pytest.fixture(scope="session")
def devcluster(
    tmp_path_factory: pytest.TempPathFactory, devcluster_images: dict[str, Path]
) -> Iterator[DevCluster]:
    cluster = DevCluster(
        tmp_path_factory.mktemp("devcluster"),
        capacity=4,
        pod_env=POD_ENV,
        images=devcluster_images,
    )
    cluster.start()
    try:
        install_crds(cluster.kubeconfig, *crd_paths())
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kubeconfig(devcluster: DevCluster) -> Path:
    return devcluster.kubeconfig


@pytest.fixture(scope="session")
def kube(devcluster: DevCluster) -> Iterator[client.ApiClient]:
    api = api_client(devcluster.kubeconfig)
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def namespace(kube: client.ApiClient) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    create_namespace(kube, name)
    try:
        yield name
    finally:
        delete_namespace(kube, name)


@pytest.fixture(scope="session")
def chart_identities(devcluster: DevCluster, kube: client.ApiClient) -> ChartIdentities:
    return ChartIdentities(
        kube, devcluster.kubeconfig, devcluster.server, devcluster.control_plane.ca_file
    )


@pytest.fixture(scope="session")
def api_kubeconfig(
    chart_identities: ChartIdentities, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return chart_identities.kubeconfig_for(
        "api", tmp_path_factory.mktemp("api-identity") / "kubeconfig"
    )


@pytest.fixture(scope="session")
def kueue(
    devcluster: DevCluster, kube: client.ApiClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kueue]:
    try:
        build = find_build()
    except KueueMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    running = Kueue(devcluster.control_plane, kube, tmp_path_factory.mktemp("kueue"), build=build)
    running.start()
    try:
        yield running
    finally:
        running.stop()
