"""pytest fixtures of the InfluxDB test bed (registered as a plugin in ``tests/conftest.py``).

- ``influxdb`` (session): a running :class:`~wattcast.devtools.testbed.influx.InfluxServer`
  without authentication; tests are skipped with the reason when ``influxd`` is missing.
- ``influxdb_with_auth`` (session): the same with authentication on and an admin user
  (``.auth`` is ``(user, password)``, ``.token`` is ``user:password``).
- ``influx_database`` (function): a fresh database on ``influxdb``, dropped afterwards.
- ``synthetic_meter`` (function): a factory of :class:`SyntheticMeter` with a seed derived
  from the test's id, so each test gets its own data and a rerun gets the same.

Every test that uses an InfluxDB fixture is marked ``influxdb`` automatically (``-m "not
influxdb"`` deselects them). The servers stop when the session ends, failed or not; see
:mod:`wattcast.devtools.testbed.influx` for the guards against stray ``influxd`` processes.
"""

from __future__ import annotations

import contextlib
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest

from wattcast.devtools.testbed.influx import InfluxError, InfluxServer, find_influxd
from wattcast.devtools.testbed.synthetic import MeterSpec, SyntheticMeter, simulate_meter

__all__ = [
    "DEFAULT_START",
    "SyntheticMeterFactory",
    "influx_database",
    "influxdb",
    "influxdb_with_auth",
    "synthetic_meter",
]

#: Start of the factory's meters unless a test says otherwise (a Monday, 1 January a holiday).
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

_INFLUX_FIXTURES = frozenset({"influxdb", "influxdb_with_auth", "influx_database"})
_SKIP_REASON = (
    "influxd (InfluxDB 1.x) is not installed: run `make setup` (installs Debian's influxdb) "
    "or set WATTCAST_INFLUXD to the binary"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a real InfluxDB with the ``influxdb`` marker."""
    for item in items:
        if _INFLUX_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.influxdb)


def _server(auth: bool) -> Iterator[InfluxServer]:
    if find_influxd() is None:
        pytest.skip(_SKIP_REASON)
    with InfluxServer(auth=auth) as server:
        yield server


@pytest.fixture(scope="session")
def influxdb() -> Iterator[InfluxServer]:
    """A real influxd (no auth) on a free loopback port for the whole session."""
    yield from _server(auth=False)


@pytest.fixture(scope="session")
def influxdb_with_auth() -> Iterator[InfluxServer]:
    """A real influxd with authentication on and an admin user, for the whole session."""
    yield from _server(auth=True)


@pytest.fixture
def influx_database(influxdb: InfluxServer) -> Iterator[str]:
    """Name of a fresh, empty database on ``influxdb``; dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    influxdb.create_database(name)
    yield name
    # A test that stopped the server itself must not turn its teardown into an error.
    with contextlib.suppress(InfluxError):
        influxdb.drop_database(name)


class SyntheticMeterFactory(Protocol):
    """Signature of the ``synthetic_meter`` fixture."""

    def __call__(
        self,
        profile: str | MeterSpec = "household",
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        days: float = 56.0,
        freq: str = "1h",
        seed: int | None = None,
        gaps: bool = True,
        outliers: bool = True,
        negatives: bool = False,
    ) -> SyntheticMeter:
        """Simulate a meter; ``end`` defaults to ``start + days``, ``seed`` to a per-test one."""
        ...


@pytest.fixture
def synthetic_meter(request: pytest.FixtureRequest) -> SyntheticMeterFactory:
    """Factory of synthetic meters (see :func:`~.synthetic.simulate_meter`).

    Without an explicit seed, the n-th call in a test uses ``crc32(test id) + n``: different
    tests and different calls get different meters, and every rerun the same ones.
    """
    base_seed = zlib.crc32(request.node.nodeid.encode())
    calls = 0

    def factory(
        profile: str | MeterSpec = "household",
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        days: float = 56.0,
        freq: str = "1h",
        seed: int | None = None,
        gaps: bool = True,
        outliers: bool = True,
        negatives: bool = False,
    ) -> SyntheticMeter:
        nonlocal calls
        if days <= 0:
            raise ValueError(f"days must be positive, got {days!r}")
        first = start or DEFAULT_START
        if seed is None:
            seed = base_seed + calls
        calls += 1
        return simulate_meter(
            profile,
            start=first,
            end=end or first + timedelta(days=days),
            freq=freq,
            seed=seed,
            gaps=gaps,
            outliers=outliers,
            negatives=negatives,
        )

    return factory
