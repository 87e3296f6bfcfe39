"""Fixtures of the end-to-end tests: one whole local stack for the session.

- ``e2e_stack`` (session): a :class:`LocalStack` (real InfluxDB, emulated API server as a
  process, operator, REST API, local runner with 2 slots) in a temporary folder; pods get
  WATTCAST_MIN_TRAINING_DAYS=3 so three weeks of data are enough, and retries wait 0.5 s
  (doubling) instead of Kubernetes' 10 s. Its own API server: the stand-in Job controller
  of the operator's integration tests watches the session emulator, never this one.
- ``e2e`` (session): an :class:`E2E` client of that stack.

Every test here is marked ``slow`` and ``influxdb``, and is skipped when influxd is missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_support import E2E

from wattcast.devtools.localrun.stack import LocalStack, StackOptions
from wattcast.devtools.testbed.influx import find_influxd


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid and "test_cluster_" not in item.nodeid:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.influxdb)


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    if find_influxd() is None:
        pytest.skip("influxd (InfluxDB 1.x) is not installed: run `make setup`")
    stack = LocalStack(
        StackOptions(
            workdir=tmp_path_factory.mktemp("e2e-stack"),
            capacity=2,
            backoff_base_seconds=0.5,
            pod_env={"WATTCAST_MIN_TRAINING_DAYS": "3"},
        )
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
    assert stack.runner is None  # stopped


@pytest.fixture(scope="session")
def e2e(e2e_stack: LocalStack) -> Iterator[E2E]:
    client = E2E(e2e_stack)
    try:
        yield client
    finally:
        client.close()
