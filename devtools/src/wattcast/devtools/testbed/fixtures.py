"""pytest fixtures of the InfluxDB test bed (registered as a plugin in ``tests/conftest.py``).

- ``influxdb`` (session): a running :class:`~wattcast.devtools.testbed.influx.InfluxServer`
  without authentication; tests are skipped with the reason when ``influxd`` is missing.
- ``influxdb_with_auth`` (session): the same with authentication on and an admin user
  (``.auth`` is ``(user, password)``, ``.token`` is ``user:password``).
- ``influx_database`` (function): a fresh database on ``influxdb``, dropped afterwards.
- ``influx2`` (session): a running, set-up InfluxDB 2 (the one ``make setup`` builds) as a
  :class:`~wattcast.devtools.testbed.instance.RunningInflux`: ``.connection`` has url, org,
  bucket, the all-access ``token`` and a ``read_token`` for the bucket; ``.server`` is the
  :class:`~wattcast.devtools.testbed.influx2.Influx2Server` (buckets, tokens, plain Flux).
  A missing binary is an error, not a skip: ``make setup`` builds it, so CI always has it.
- ``influx2_bucket`` (function): a fresh bucket on ``influx2`` and a token that may only
  read it, deleted afterwards.
- ``synthetic_meter`` (function): a factory of :class:`SyntheticMeter` with a seed derived
  from the test's id, so each test gets its own data and a rerun gets the same.

Every test that uses an InfluxDB fixture is marked ``influxdb`` (1.x) or ``influxdb2``
automatically (``-m "not influxdb2"`` deselects the latter). The servers stop when the
session ends, failed or not; see :mod:`wattcast.devtools.testbed.influx` for the guards
against stray ``influxd`` processes.
"""

from __future__ import annotations

import contextlib
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest

from wattcast.devtools.testbed.influx import InfluxError, InfluxServer, find_influxd
from wattcast.devtools.testbed.influx2 import Influx2Server, find_influxd2
from wattcast.devtools.testbed.instance import RunningInflux, start_influx
from wattcast.devtools.testbed.synthetic import MeterSpec, SyntheticMeter, simulate_meter

__all__ = [
    "DEFAULT_START",
    "Influx2Bucket",
    "SyntheticMeterFactory",
    "influx2",
    "influx2_bucket",
    "influx_database",
    "influxdb",
    "influxdb_with_auth",
    "synthetic_meter",
]

#: Start of the factory's meters unless a test says otherwise (a Monday, 1 January a holiday).
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

_INFLUX_FIXTURES = frozenset({"influxdb", "influxdb_with_auth", "influx_database"})
_INFLUX2_FIXTURES = frozenset({"influx2", "influx2_bucket"})
_SKIP_REASON = (
    "influxd (InfluxDB 1.x) is not installed: run `make setup` (installs Debian's influxdb) "
    "or set WATTCAST_INFLUXD to the binary"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a real InfluxDB with ``influxdb`` or ``influxdb2``."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if _INFLUX_FIXTURES.intersection(names):
            item.add_marker(pytest.mark.influxdb)
        if _INFLUX2_FIXTURES.intersection(names):
            item.add_marker(pytest.mark.influxdb2)


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


@pytest.fixture(scope="session")
def influx2() -> Iterator[RunningInflux]:
    """A real, set-up InfluxDB 2 on a free loopback port for the whole session."""
    if find_influxd2() is None:
        pytest.fail(
            "InfluxDB 2 is not built: run `make setup` (scripts/build-influxdb2.sh links it as "
            ".work/bin/influxd2) or set WATTCAST_INFLUXD2 to the binary",
            pytrace=False,
        )
    with start_influx(2) as running:
        yield running


@dataclass(frozen=True)
class Influx2Bucket:
    """A test's own bucket on ``influx2``: its name, id and a token that may only read it."""

    name: str
    id: str
    read_token: str


@pytest.fixture
def influx2_bucket(influx2: RunningInflux) -> Iterator[Influx2Bucket]:
    """A fresh bucket on ``influx2`` with a read-only token of its own; deleted afterwards."""
    server = influx2.server
    assert isinstance(server, Influx2Server)
    name = f"test_{uuid.uuid4().hex[:16]}"
    bucket_id = server.create_bucket(name)
    yield Influx2Bucket(name, bucket_id, server.create_read_token(bucket_id))
    with contextlib.suppress(InfluxError):
        server.delete_bucket(bucket_id)


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
