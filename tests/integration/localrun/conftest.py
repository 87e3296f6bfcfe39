"""Fixtures of the local runner's integration tests.

The runner gets an emulated API server of its own (module scope), never the session one: the
operator's tests leave the stand-in Job controller watching that one, and two controllers
on the same Jobs would fight.

- ``cluster_server`` (module): a :class:`RunningEmulator` with no CRD.
- ``cluster`` (module): a :class:`Cluster` on it.
- ``ns`` (function): a fresh namespace on it.
- ``runner`` (module): a :class:`LocalRunner` on it (capacity 2, retry delay 0.2 s), models in
  a temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from localrun_support import Cluster, unique

from wattcast.devtools.emulator.fixtures import RunningEmulator
from wattcast.devtools.localrun import LocalRunner, RunnerSettings


@pytest.fixture(scope="module")
def cluster_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    server = RunningEmulator(tmp_path_factory.mktemp("localrun-emulator")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster(cluster_server: RunningEmulator) -> Iterator[Cluster]:
    api = Cluster(cluster_server.kubeconfig_path)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def ns(cluster: Cluster) -> str:
    name = unique("lr")
    cluster.create_namespace(name)
    return name


@pytest.fixture(scope="module")
def runner(
    cluster_server: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRunner]:
    base = tmp_path_factory.mktemp("localrun")
    settings = RunnerSettings(
        capacity=2,
        backoff_base_seconds=0.2,
        backoff_max_seconds=1.0,
        poll_interval_seconds=0.05,
        max_grace_seconds=2.0,
        extra_env={"LOCALRUN_NODE_SETTING": "on"},
    )
    with LocalRunner(
        cluster_server.kubeconfig_path, base / "models", base / "work", settings
    ) as running:
        yield running
        assert not running.errors, running.errors
