"""Fixtures of the API's integration tests: the real app, served by uvicorn on loopback,
using its real Kubernetes client against the dev cluster's real API server, as the chart's API
ServiceAccount with the chart's Role in the test's namespace (a missing right is a 403).

- ``api_settings``: the app's settings for one test (its own namespace, a token, a sources
  file naming the source ``archive``), given to the app through ``dependency_overrides``.
- ``served_api``: the app running in a background thread (``.url``, ``.requests``);
  ``api_url``: its base URL.
- ``api``: an ``httpx.Client`` for it with the token; ``anon``: one without.
- ``kube_objects``: an admin kubernetes ``CustomObjectsApi``, for what the operator and the
  trainer would do (status patches) and to look at what exists; ``cluster`` and ``fleets``:
  the namespace's TrainingJobs and FleetTrainingJobs through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import SEED_BODY, TOKEN, ServedApp
from kubernetes import client, config
from testkit import TrainingJobs

from wattcast.api.core.config import Settings
from wattcast.crd import constants
from wattcast.devtools.cluster.chart import ChartIdentities


@pytest.fixture
def api_settings(
    api_kubeconfig: Path, chart_identities: ChartIdentities, namespace: str, tmp_path: Path
) -> Settings:
    chart_identities.grant(namespace, "api")
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "- name: archive\n  url: http://influx-archive:8086\n  dialect: influxql\n"
        "  database: energy\n",
        encoding="utf-8",
    )
    return Settings(
        api_tokens=TOKEN,
        api_kubeconfig=api_kubeconfig,
        api_namespace=namespace,
        influx_sources_file=sources,
        api_kube_timeout_seconds=10,
        api_watch_timeout_seconds=30,
        api_sse_ping_seconds=1,
    )


@pytest.fixture
def served_api(api_settings: Settings) -> Iterator[ServedApp]:
    served = ServedApp(api_settings).start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def api_url(served_api: ServedApp) -> str:
    return served_api.url


@pytest.fixture
def api(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as c:
        yield c


@pytest.fixture
def anon(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as c:
        yield c


@pytest.fixture
def kube_objects(kubeconfig: Path) -> Iterator[client.CustomObjectsApi]:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    api_client = client.ApiClient(configuration)
    try:
        yield client.CustomObjectsApi(api_client)
    finally:
        api_client.close()


@pytest.fixture
def cluster(kube_objects: client.CustomObjectsApi, namespace: str) -> TrainingJobs:
    return TrainingJobs(kube_objects, namespace)


@pytest.fixture
def fleets(kube_objects: client.CustomObjectsApi, namespace: str) -> TrainingJobs:
    """The test namespace's FleetTrainingJobs, as an administrator (and the operator) sees them."""
    return TrainingJobs(kube_objects, namespace, plural=constants.FLEET_PLURAL)


@pytest.fixture
def seed_body() -> dict[str, Any]:
    """The seed's curl example body (docs/seed.md), a fresh copy per test."""
    return dict(SEED_BODY)
