"""Fixtures of the trainer's integration tests: quiet, fast, isolated settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from trainer_support import clear_settings

from wattcast.crd import TrainingJob
from wattcast.devtools.cluster.access import apply, service_account_kubeconfig
from wattcast.devtools.cluster.chart import wait_until_authorized
from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.operator.rendering import render_trainer_identity


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
def trainer_kubeconfig_for(
    devcluster: DevCluster, kube: client.ApiClient, tmp_path: Path
) -> Callable[[dict[str, Any]], Path]:
    """A kubeconfig acting as a TrainingJob's own trainer identity, made as the operator makes
    it (ServiceAccount, Role naming only that TrainingJob, RoleBinding)."""

    def make(trainingjob: dict[str, Any]) -> Path:
        identity = render_trainer_identity(TrainingJob.model_validate(trainingjob))
        apply(devcluster.kubeconfig, identity)
        wait_until_authorized(kube, identity)
        account = identity[0]["metadata"]
        return service_account_kubeconfig(
            kube,
            devcluster.server,
            devcluster.control_plane.ca_file,
            account["namespace"],
            account["name"],
            tmp_path / f"{account['name']}.kubeconfig",
        )

    return make
