"""Fixtures of the trainer's integration tests: quiet, fast, isolated settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from trainer_support import clear_settings

from wattcast.devtools.cluster.access import service_account_kubeconfig
from wattcast.devtools.cluster.chart import ChartIdentities
from wattcast.devtools.cluster.devcluster import DevCluster


@pytest.fixture(autouse=True)
def trainer_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No INFLUX_*/WATTCAST_* leaking in from the outside; status patches without delay."""
    for key in (
        "INFLUX_URL",
        "INFLUX_TOKEN",
        "INFLUX_ORG",
        "INFLUX_BUCKET",
        "INFLUX_DATABASE",
        "INFLUX_DIALECT",
        "WATTCAST_TRAININGJOB_NAME",
        "WATTCAST_TRAININGJOB_NAMESPACE",
        "WATTCAST_MODELS_DIR",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WATTCAST_STATUS_INTERVAL_SECONDS", "0.2")
    clear_settings()
    yield
    clear_settings()


@pytest.fixture
def trainer_kubeconfig(
    chart_identities: ChartIdentities,
    devcluster: DevCluster,
    kube: client.ApiClient,
    namespace: str,
    tmp_path: Path,
) -> Path:
    """A kubeconfig acting as the chart's trainer ServiceAccount in the test's namespace."""
    chart_identities.grant(namespace, "trainer")
    return service_account_kubeconfig(
        kube,
        devcluster.server,
        devcluster.control_plane.ca_file,
        namespace,
        "wattcast-trainer",
        tmp_path / "trainer.kubeconfig",
    )
