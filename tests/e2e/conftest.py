"""Fixtures of the end-to-end tests: one whole local stack for the session.

- ``e2e_stack`` (session): a :class:`LocalStack` (the real InfluxDB 2 with Flux, trainers
  reading it with a read-only token (the seed's path; the demo test runs InfluxQL), a dev
  cluster of its own:
  upstream control plane and the process kubelet with 2 pod slots, the operator and the REST
  API under the chart's ServiceAccounts) in a temporary folder; pods get
  WATTCAST_MIN_TRAINING_DAYS=3 so three weeks of data are enough. Retries wait as long as the
  real Job controller makes them (10 s, doubling).
- ``e2e`` (session): an :class:`E2E` client of that stack.
- ``desktop``: a desktop-sized browser context in Debian's chromium (skips without it), from
  tests/integration/dashboard/dashboard_support.py.

Every test here is marked ``slow``, ``influxdb`` and ``influxdb2``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import E2E

from wattcast.devtools.stack import LocalStack, StackOptions
from wattcast.devtools.testbed.influx2 import find_influxd2

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "dashboard"))

from dashboard_support import CHROMIUM, DESKTOP, chromium_context


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid and "test_cluster_" not in item.nodeid:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.influxdb)
            item.add_marker(pytest.mark.influxdb2)


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    if find_influxd2() is None:
        pytest.fail("InfluxDB 2 is not built: run `make setup`", pytrace=False)
    stack = LocalStack(
        StackOptions(
            workdir=tmp_path_factory.mktemp("e2e-stack"),
            capacity=2,
            pod_env={"WATTCAST_MIN_TRAINING_DAYS": "3"},
        )
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
    assert stack.cluster.kubelet is None  # stopped


@pytest.fixture(scope="session")
def e2e(e2e_stack: LocalStack) -> Iterator[E2E]:
    client = E2E(e2e_stack)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def desktop() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (make setup)")
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    try:
        with chromium_context(driver, DESKTOP) as context:
            yield context
    finally:
        driver.stop()
