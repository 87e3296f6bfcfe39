"""A real influxd 1.6 starts, stores synthetic meters in the seed's format, and stops cleanly.

Reads go through plain HTTP (``/query`` with InfluxQL), not through the helpers under test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

from wattcast.devtools.testbed.fixtures import SyntheticMeterFactory
from wattcast.devtools.testbed.influx import (
    InfluxError,
    InfluxServer,
    build_line_protocol,
    find_influxd,
    write_meter,
)

# For tests that start their own influxd; tests using the fixtures are marked by the plugin.
needs_influxd = pytest.mark.skipif(find_influxd() is None, reason="influxd is not installed")


def _select(
    url: str,
    database: str,
    statement: str,
    auth: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Run one SELECT over plain HTTP; a frame indexed by UTC time (empty if no series)."""
    response = requests.get(
        f"{url}/query",
        params={"db": database, "q": statement, "epoch": "ns"},
        auth=auth,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert "error" not in result, result
    if "series" not in result:
        return pd.DataFrame()
    (series,) = result["series"]
    frame = pd.DataFrame(series["values"], columns=series["columns"])
    if "time" in frame.columns:  # SHOW statements have no time column
        frame.index = pd.to_datetime(frame.pop("time"), unit="ns", utc=True)
        frame.index.name = "time"
    return frame


def _alive(pid: int) -> bool:
    """True if pid runs and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _port_free(port: int) -> bool:
    """Nobody listens on the port and a new server could bind it.

    SO_REUSEADDR as every server sets it: closed connections linger in TIME_WAIT for a
    minute, which blocks a plain bind but not a server.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# --- the session server and the fixtures ---------------------------------------------------


def test_server_answers_ping_as_influxdb_1_6(influxdb: InfluxServer) -> None:
    response = requests.get(f"{influxdb.url}/ping", timeout=5)
    assert response.status_code == 204
    assert response.headers["X-Influxdb-Version"].startswith("1.6.")
    assert influxdb.url.startswith("http://127.0.0.1:")
    assert influxdb.auth is None
    assert influxdb.token is None


def test_fixtures_are_marked_and_database_is_fresh(
    influxdb: InfluxServer, influx_database: str, request: pytest.FixtureRequest
) -> None:
    assert request.node.get_closest_marker("influxdb") is not None
    assert influx_database.startswith("test_")
    assert influx_database in influxdb.databases()
    assert _select(influxdb.url, influx_database, "SELECT * FROM electricity_consumption").empty


def test_the_database_fixture_drops_its_database(influxdb: InfluxServer) -> None:
    # Leftovers of earlier tests' influx_database would show up here.
    assert not [name for name in influxdb.databases() if name.startswith("test_")]


# --- writing and reading back --------------------------------------------------------------


def test_synthetic_meter_round_trips_exactly(
    influxdb: InfluxServer, influx_database: str, synthetic_meter: SyntheticMeterFactory
) -> None:
    meter = synthetic_meter("household", days=21)
    frame = meter.observed
    meter_id = "site-7.main:meter_01"
    written = write_meter(
        influxdb.url, influx_database, "electricity", meter_id, frame, batch_size=97
    )
    assert written == len(frame)

    back = _select(
        influxdb.url,
        influx_database,
        "SELECT consumption, temperature FROM electricity_consumption "
        f"WHERE meter_id = '{meter_id}'",
    )
    assert len(back) == len(frame)
    pd.testing.assert_index_equal(back.index, frame.index.as_unit("ns"))
    # Exact: float64 -> shortest repr -> InfluxDB -> JSON -> float64 loses nothing.
    np.testing.assert_array_equal(back["consumption"].to_numpy(), frame["consumption"].to_numpy())
    np.testing.assert_array_equal(back["temperature"].to_numpy(), frame["temperature"].to_numpy())


def test_meters_are_separated_by_type_and_tag(
    influxdb: InfluxServer, influx_database: str, synthetic_meter: SyntheticMeterFactory
) -> None:
    household = synthetic_meter("household", days=3).observed
    commercial = synthetic_meter("commercial", days=3).observed
    water = synthetic_meter("water", days=3).observed
    write_meter(influxdb.url, influx_database, "electricity", "flat-1", household)
    write_meter(influxdb.url, influx_database, "electricity", "office-1", commercial)
    write_meter(influxdb.url, influx_database, "water", "flat-1", water)

    count = "SELECT count(consumption) FROM {m} WHERE meter_id = '{i}'"
    for measurement, meter_id, frame in (
        ("electricity_consumption", "flat-1", household),
        ("electricity_consumption", "office-1", commercial),
        ("water_consumption", "flat-1", water),
    ):
        got = _select(influxdb.url, influx_database, count.format(m=measurement, i=meter_id))
        assert got["count"].iloc[0] == len(frame)
    measurements = _select(influxdb.url, influx_database, "SHOW MEASUREMENTS")
    assert sorted(measurements["name"]) == ["electricity_consumption", "water_consumption"]


@pytest.mark.parametrize(
    "meter_id",
    [
        "meter1",
        "a.b:c-d_e",
        "with space",
        "comma,inside",
        "equals=sign",
        "ünïcode-Zähler",
        "x" * 200,
    ],
    ids=["plain", "dots-colons", "space", "comma", "equals", "unicode", "long"],
)
def test_tag_values_are_escaped(
    influxdb: InfluxServer, influx_database: str, meter_id: str
) -> None:
    frame = pd.DataFrame(
        {"consumption": [1.5, 2.5]},
        index=pd.DatetimeIndex(["2024-01-01T00:00Z", "2024-01-01T01:00Z"], name="time"),
    )
    write_meter(influxdb.url, influx_database, "electricity", meter_id, frame)
    tags = _select(
        influxdb.url,
        influx_database,
        "SHOW TAG VALUES FROM electricity_consumption WITH KEY = meter_id",
    )
    assert tags["value"].tolist() == [meter_id]


def test_missing_values_leave_fields_out(influxdb: InfluxServer, influx_database: str) -> None:
    frame = pd.DataFrame(
        {
            "consumption": [1.0, np.nan, 3.0, np.nan, 1e-7],
            "temperature": [np.nan, 2.0, 3.0, np.nan, -1e22],
        },
        index=pd.date_range("2024-05-01", periods=5, freq="1h", tz="UTC", name="time"),
    )
    lines, precision = build_line_protocol("water", "m", frame)
    assert precision == "s"
    assert lines[0] == "water_consumption,meter_id=m consumption=1.0 1714521600"
    assert lines[1] == "water_consumption,meter_id=m temperature=2.0 1714525200"
    assert len(lines) == 4  # the row without any field is skipped

    assert write_meter(influxdb.url, influx_database, "water", "m", frame) == 4
    back = _select(influxdb.url, influx_database, "SELECT * FROM water_consumption")
    assert back["consumption"].tolist()[::2] == [1.0, 3.0]
    assert np.isnan(back["consumption"].iloc[1])
    assert back["consumption"].iloc[3] == 1e-7
    assert back["temperature"].iloc[3] == -1e22
    assert np.isnan(back["temperature"].iloc[0])


def test_frames_without_temperature_write_consumption_only(
    influxdb: InfluxServer, influx_database: str, synthetic_meter: SyntheticMeterFactory
) -> None:
    frame = synthetic_meter("regional", days=2).observed[["consumption"]]
    write_meter(influxdb.url, influx_database, "electricity", "region-north", frame)
    keys = _select(influxdb.url, influx_database, "SHOW FIELD KEYS FROM electricity_consumption")
    assert keys["fieldKey"].tolist() == ["consumption"]
    assert keys["fieldType"].tolist() == ["float"]


def test_sub_second_timestamps_use_nanosecond_precision(
    influxdb: InfluxServer, influx_database: str
) -> None:
    index = pd.DatetimeIndex(
        ["2024-01-01T00:00:00.123456789Z", "2024-01-01T00:00:01.5Z"], name="time"
    )
    frame = pd.DataFrame({"consumption": [0.25, 0.5]}, index=index)
    assert build_line_protocol("electricity", "m", frame)[1] == "ns"
    with pytest.raises(ValueError, match="precision 's' loses sub-second timestamps"):
        build_line_protocol("electricity", "m", frame, precision="s")
    write_meter(influxdb.url, influx_database, "electricity", "m", frame)
    back = _select(influxdb.url, influx_database, "SELECT consumption FROM electricity_consumption")
    pd.testing.assert_index_equal(back.index, index.as_unit("ns"))


def test_a_month_of_minutes_is_written_quickly(
    influxdb: InfluxServer, influx_database: str, synthetic_meter: SyntheticMeterFactory
) -> None:
    frame = synthetic_meter("household", days=30, freq="1min").observed
    began = time.perf_counter()
    write_meter(influxdb.url, influx_database, "electricity", "fast", frame)
    elapsed = time.perf_counter() - began
    count = _select(
        influxdb.url, influx_database, "SELECT count(consumption) FROM electricity_consumption"
    )
    assert count["count"].iloc[0] == len(frame) > 35_000
    # About 0.3 s on a quiet machine (a year of minutes: a few seconds); room for a busy one.
    assert elapsed < 15.0


def test_server_side_aggregation_matches_pandas(
    influxdb: InfluxServer, influx_database: str, synthetic_meter: SyntheticMeterFactory
) -> None:
    frame = synthetic_meter("commercial", days=10, freq="15min").observed
    write_meter(influxdb.url, influx_database, "electricity", "agg", frame)
    hourly = _select(
        influxdb.url,
        influx_database,
        "SELECT sum(consumption) FROM electricity_consumption WHERE meter_id = 'agg' "
        "AND time >= '2024-01-01T00:00:00Z' AND time < '2024-01-11T00:00:00Z' "
        "GROUP BY time(1h) fill(none)",
    )
    expected = frame["consumption"].resample("1h").sum(min_count=1).dropna()
    np.testing.assert_allclose(hourly["sum"].to_numpy(), expected.to_numpy(), rtol=1e-12)


# --- bad input -----------------------------------------------------------------------------


_GOOD = pd.DataFrame(
    {"consumption": [1.0]}, index=pd.DatetimeIndex(["2024-01-01T00:00Z"], name="time")
)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"database": "bad name"}, ValueError, "invalid database name 'bad name'"),
        ({"database": 'x";DROP'}, ValueError, "invalid database name"),
        ({"meter_type": "elec tricity"}, ValueError, "invalid meter type"),
        ({"meter_type": ""}, ValueError, "invalid meter type"),
        ({"meter_id": ""}, ValueError, "meter_id must be a non-empty string"),
        ({"meter_id": "a\nb"}, ValueError, "contains control characters"),
        ({"meter_id": "a\\"}, ValueError, "contains a backslash"),
        ({"meter_id": "x" * 257}, ValueError, "at most 256"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
        ({"precision": "ms"}, ValueError, "precision must be 'auto', 's' or 'ns'"),
        ({"retention_policy": "a b"}, ValueError, "invalid retention policy"),
        ({"frame": _GOOD.tz_localize(None)}, ValueError, "timezone-aware DatetimeIndex"),
        ({"frame": _GOOD.reset_index()}, ValueError, "timezone-aware DatetimeIndex"),
        ({"frame": _GOOD.rename(columns={"consumption": "c"})}, ValueError, "'consumption'"),
        ({"frame": _GOOD.assign(power=1.0)}, ValueError, "does not know: \\['power'\\]"),
        ({"frame": _GOOD.assign(consumption=np.inf)}, ValueError, "infinite values"),
        ({"frame": [1.0]}, TypeError, "frame must be a pandas DataFrame"),
    ],
    ids=[
        "db-space",
        "db-injection",
        "type-space",
        "type-empty",
        "id-empty",
        "id-newline",
        "id-backslash",
        "id-too-long",
        "batch-zero",
        "precision-unknown",
        "rp-space",
        "naive-index",
        "no-time-index",
        "no-consumption",
        "unknown-column",
        "infinite",
        "not-a-frame",
    ],
)
def test_write_meter_refuses_bad_input(
    change: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {
        "url": "http://127.0.0.1:9",  # never reached: validation comes first
        "database": "db",
        "meter_type": "electricity",
        "meter_id": "m",
        "frame": _GOOD,
    } | change
    with pytest.raises(error, match=message):
        write_meter(**arguments)


def test_writing_to_a_missing_database_names_it(influxdb: InfluxServer) -> None:
    with pytest.raises(InfluxError, match=r"HTTP 404: .*database not found"):
        write_meter(influxdb.url, "no_such_db", "electricity", "m", _GOOD)


def test_an_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connection refused
        with pytest.raises(InfluxError, match="unreachable"):
            write_meter(f"http://127.0.0.1:{port}", "db", "electricity", "m", _GOOD)


def test_bad_database_names_are_refused_before_influxql(influxdb: InfluxServer) -> None:
    with pytest.raises(ValueError, match="invalid database name"):
        influxdb.create_database('x"; DROP DATABASE "y')


# --- authentication ------------------------------------------------------------------------


def test_auth_mode_requires_the_admin_credentials(
    influxdb_with_auth: InfluxServer, synthetic_meter: SyntheticMeterFactory
) -> None:
    server = influxdb_with_auth
    assert server.auth is not None
    assert server.token == f"{server.admin_user}:{server.admin_password}"
    database = server.create_database("auth_round_trip")
    anonymous = requests.get(f"{server.url}/query", params={"q": "SHOW DATABASES"}, timeout=5)
    assert anonymous.status_code == 401
    wrong = requests.get(
        f"{server.url}/query", params={"q": "SHOW DATABASES"}, auth=("admin", "nope"), timeout=5
    )
    assert wrong.status_code == 401
    user, password = server.auth
    by_params = requests.get(
        f"{server.url}/query", params={"q": "SHOW DATABASES", "u": user, "p": password}, timeout=5
    )
    assert by_params.status_code == 200
    # InfluxDB 1.6 knows no "Authorization: Token user:password" (it came with 1.8 and 2.x's
    # v1 API): clients must fall back to basic auth or u/p parameters against this server.
    token = requests.get(
        f"{server.url}/query",
        params={"q": "SHOW DATABASES"},
        headers={"Authorization": f"Token {server.token}"},
        timeout=5,
    )
    assert token.status_code == 401

    frame = synthetic_meter("water", days=2).observed
    with pytest.raises(InfluxError, match="HTTP 401"):
        write_meter(server.url, database, "water", "w1", frame)
    write_meter(server.url, database, "water", "w1", frame, auth=server.auth)
    back = _select(server.url, database, "SELECT * FROM water_consumption", auth=server.auth)
    assert len(back) == len(frame)
    server.drop_database(database)


# --- lifecycle -----------------------------------------------------------------------------


@pytest.mark.influxdb
@needs_influxd
def test_server_stops_cleanly_and_frees_its_port() -> None:
    server = InfluxServer()
    with server:
        assert server.running
        pid, port, root = server.pid, server.port, server.root
        assert pid is not None and _alive(pid)
        assert root is not None and (root / "influxdb.conf").exists()
        assert not _port_free(port)
        config = (root / "influxdb.conf").read_text()
        assert f'bind-address = "127.0.0.1:{server.rpc_port}"' in config
        assert "reporting-enabled = false" in config
        assert "query-log-enabled = false" in config
    assert not server.running
    assert not _alive(pid)
    assert _port_free(port)
    assert not root.exists()
    with pytest.raises(InfluxError, match="not running"):
        _ = server.url
    server.stop()  # idempotent


@pytest.mark.influxdb
@needs_influxd
def test_server_stops_when_the_block_raises() -> None:
    server = InfluxServer()
    with pytest.raises(RuntimeError, match="boom"), server:
        pid = server.pid
        raise RuntimeError("boom")
    assert pid is not None and not _alive(pid)


@pytest.mark.influxdb
@needs_influxd
def test_influxd_dies_with_a_killed_parent(tmp_path: Path) -> None:
    # A test run killed with SIGKILL runs no cleanup; the parent-death signal still takes
    # influxd down.
    script = textwrap.dedent(
        """
        import sys, time
        from wattcast.devtools.testbed.influx import InfluxServer
        server = InfluxServer().start()
        print(server.pid, server.root, flush=True)
        time.sleep(120)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    ) as child:
        try:
            assert child.stdout is not None
            pid_text, root_text = child.stdout.readline().split()
            pid, root = int(pid_text), Path(root_text)
            assert _alive(pid)
            assert root.is_dir()
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
    # Its directory outlived it; the next server start sweeps it away.
    assert root.is_dir()
    with InfluxServer():
        assert not root.exists()


def test_a_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTCAST_INFLUXD", "/nonexistent/influxd")
    assert find_influxd() is None
    with pytest.raises(InfluxError, match="influxd not found"):
        InfluxServer().start()


def test_a_server_that_dies_at_start_up_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "influxd"
    fake.write_text("#!/bin/sh\necho 'run: open server: bad config' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(InfluxError, match=r"exited with code 3 during start-up:\n.*bad config"):
        InfluxServer(binary=str(fake)).start()


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    fake = tmp_path / "influxd"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    server = InfluxServer(binary=str(fake), startup_timeout=0.5)
    with pytest.raises(InfluxError, match=r"did not answer /ping within 0\.5 s"):
        server.start()
    assert not server.running


def test_bad_server_options_are_refused() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        InfluxServer(startup_timeout=0)
    with pytest.raises(ValueError, match="invalid user name"):
        InfluxServer(admin_user="a b")


def test_synthetic_meter_factory_seeds_per_test(synthetic_meter: SyntheticMeterFactory) -> None:
    first = synthetic_meter("water", days=5)
    second = synthetic_meter("water", days=5)
    assert first.seed != second.seed
    assert first.truth.index[0] == pd.Timestamp("2024-01-01T00:00Z")
    assert len(first.truth) == 5 * 24
    fixed = synthetic_meter("water", days=5, seed=first.seed)
    pd.testing.assert_frame_equal(fixed.observed, first.observed)
    end = datetime(2024, 1, 3, tzinfo=UTC)
    assert len(synthetic_meter("water", end=end).truth) == 48
    assert synthetic_meter("water", start=end, days=1).truth.index[0] == pd.Timestamp(end)
    with pytest.raises(ValueError, match="days must be positive"):
        synthetic_meter("water", days=0)


@pytest.mark.influxdb
@needs_influxd
def test_a_port_taken_meanwhile_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattcast.devtools.testbed import influx

    real = influx.free_port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        offered = iter([busy])
        monkeypatch.setattr(influx, "free_port", lambda: next(offered, None) or real())
        with InfluxServer() as server:
            assert server.port != busy
            assert requests.get(f"{server.url}/ping", timeout=5).status_code == 204
