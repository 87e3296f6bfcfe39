"""Fixtures of the fleet's integration tests: one local stack for the session (the real
control plane and Job controller, the process kubelet with 2 pod slots, the real operator and
the real `wattcast-fleet-shard` reading InfluxDB 1.x), with a second source `flaky` reaching
the same InfluxDB through a proxy a test can take down. Pods get WATTCAST_MIN_TRAINING_DAYS=3
and the operator syncs fleets every second.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fleetkit import FLAKY_SOURCE, Fleets, Proxy

from wattcast.devtools.stack import DATABASE, TOKEN_SECRET, LocalStack, StackOptions


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/fleet/" in item.nodeid:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.influxdb)


@pytest.fixture(scope="session")
def fleet_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Proxy]]:
    workdir = tmp_path_factory.mktemp("fleet-stack")
    stack = LocalStack(
        StackOptions(
            workdir=workdir,
            capacity=2,
            pod_env={"WATTCAST_MIN_TRAINING_DAYS": "3"},
            operator_env={"WATTCAST_FLEET_SYNC_SECONDS": "1"},
            influx_flavor=1,
        )
    )
    stack.start_influx()
    url = urlsplit(stack.connection.url)
    proxy = Proxy(url.hostname or "127.0.0.1", url.port or 8086)
    # The stack's sources file, plus the flaky source, written before the operator reads it.
    sources = stack.sources_file()
    sources.write_text(
        sources.read_text() + f"- name: {FLAKY_SOURCE}\n  url: http://127.0.0.1:{proxy.port}\n"
        f"  dialect: influxql\n  database: {DATABASE}\n"
        f"  tokenSecret: {{name: {TOKEN_SECRET}, key: token}}\n"
    )
    try:
        stack.start_cluster()
        stack.start_operator()
        yield stack, proxy
    finally:
        proxy.close()
        stack.stop()


@pytest.fixture(scope="session")
def stack(fleet_stack: tuple[LocalStack, Proxy]) -> LocalStack:
    return fleet_stack[0]


@pytest.fixture(scope="session")
def fleets(stack: LocalStack) -> Fleets:
    return Fleets(stack)
