"""The InfluxDB test bed's second flavor and `wattcast-influxdb`, against the real servers.

InfluxDB 2 is the one `make setup` builds; checks go through its plain HTTP API (Flux over
`/api/v2/query`, InfluxQL over the v1 `/query`), not through the helpers under test.
`wattcast-influxdb` runs as the console script a user starts, for both flavors.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import requests
from testkit import free_port

from wattcast.devtools.testbed.fixtures import Influx2Bucket
from wattcast.devtools.testbed.influx import InfluxError, find_influxd, write_meter_v2
from wattcast.devtools.testbed.influx2 import Influx2Server, find_influxd2
from wattcast.devtools.testbed.instance import (
    InfluxConnection,
    RunningInflux,
    start_influx,
    write_meter_to,
)
from wattcast.devtools.testbed.synthetic import generate_meter

START = datetime(2024, 1, 1, tzinfo=UTC)
SCRIPT = Path(sys.executable).with_name("wattcast-influxdb")


def _flux_frame(server: Influx2Server, bucket: str, meter_id: str, token: str) -> pd.DataFrame:
    """The meter's points read back with a hand-written Flux query, as a frame."""
    text = server.query_csv(
        f'from(bucket: "{bucket}") |> range(start: 2000-01-01T00:00:00Z)'
        f' |> filter(fn: (r) => r._measurement == "electricity_consumption"'
        f' and r.meter_id == "{meter_id}")'
        ' |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        token=token,
    )
    frame = pd.read_csv(io.StringIO(text), comment="#")
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame["_time"], utc=True), name="time")
    return frame


def test_influx2_is_set_up_with_an_org_a_bucket_and_two_tokens(influx2: RunningInflux) -> None:
    connection = influx2.connection
    server = influx2.server
    assert isinstance(server, Influx2Server)
    assert connection.flavor == 2 and connection.dialect == "flux"
    assert connection.version.startswith("v2.")
    orgs = server.api("GET", "/api/v2/orgs")["orgs"]
    assert [org["name"] for org in orgs] == [connection.org]
    buckets = server.api("GET", "/api/v2/buckets", params={"name": connection.bucket or ""})
    assert [b["id"] for b in buckets["buckets"]] == [server.bucket_id]
    listed = server.api("GET", "/api/v2/authorizations")["authorizations"]
    (auth,) = [a for a in listed if a["token"] == connection.read_token]
    assert auth["permissions"] == [
        {
            "action": "read",
            "resource": {
                "type": "buckets",
                "id": server.bucket_id,
                "orgID": server.org_id,
                "name": connection.bucket,
                "org": connection.org,
            },
        }
    ]


def test_the_seeds_format_is_stored_and_read_back_with_the_read_only_token(
    influx2: RunningInflux, influx2_bucket: Influx2Bucket
) -> None:
    frame = generate_meter("household", start=START, end=START + timedelta(days=2), seed=4)
    connection = influx2.connection
    assert connection.org is not None
    written = write_meter_v2(
        connection.url,
        connection.org,
        influx2_bucket.name,
        connection.token,
        "electricity",
        "flat,1 =x",  # line protocol's separators in a tag value are escaped
        frame,
    )
    assert written == len(frame)
    server = influx2.server
    assert isinstance(server, Influx2Server)
    back = _flux_frame(server, influx2_bucket.name, "flat,1 =x", influx2_bucket.read_token)
    assert set(back["_measurement"]) == {"electricity_consumption"}
    pd.testing.assert_frame_equal(
        back[["consumption", "temperature"]], frame, check_freq=False, check_names=False
    )


def test_the_read_only_token_cannot_write(
    influx2: RunningInflux, influx2_bucket: Influx2Bucket
) -> None:
    frame = generate_meter("household", start=START, end=START + timedelta(hours=3), seed=4)
    connection = influx2.connection
    assert connection.org is not None
    with pytest.raises(InfluxError, match=r"HTTP (401|403)"):
        write_meter_v2(
            connection.url,
            connection.org,
            influx2_bucket.name,
            influx2_bucket.read_token,
            "electricity",
            "m1",
            frame,
        )


def test_influxql_reads_a_bucket_through_the_v1_api(
    influx2: RunningInflux, influx2_bucket: Influx2Bucket
) -> None:
    # docs/design.md §5: the influxql dialect also reads InfluxDB 2 (its v1 API maps a bucket to
    # the database of the same name).
    frame = generate_meter("household", start=START, end=START + timedelta(hours=5), seed=6)
    connection = influx2.connection
    assert connection.org is not None
    write_meter_v2(
        connection.url, connection.org, influx2_bucket.name, connection.token, "electricity",
        "m1", frame,
    )  # fmt: skip
    response = requests.post(
        f"{connection.url}/query",
        data={
            "db": influx2_bucket.name,
            "q": "SELECT consumption FROM electricity_consumption WHERE meter_id = $m",
            "params": json.dumps({"m": "m1"}),
        },
        headers={"Authorization": f"Token {influx2_bucket.read_token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    (series,) = response.json()["results"][0]["series"]
    assert [row[1] for row in series["values"]] == frame["consumption"].tolist()


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    fake = tmp_path / "influxd"
    fake.write_text("#!/bin/sh\necho 'bad flag' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(InfluxError, match=r"influxd 2 exited with code 3 during start-up:\n.*bad"):
        Influx2Server(binary=str(fake)).start()
    with pytest.raises(InfluxError, match="influxd 2 not found: run `make setup`"):
        Influx2Server(binary=str(tmp_path / "missing")).start()


# --- wattcast-influxdb -------------------------------------------------------------------------


@pytest.fixture
def launched() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)  # reaps it and closes its pipes


def _launch(
    processes: list[subprocess.Popen[str]], *args: str
) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    processes.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line


@pytest.mark.parametrize("flavor", [1, 2])
def test_wattcast_influxdb_serves_until_sigterm_and_writes_its_connection(
    flavor: int, tmp_path: Path, launched: list[subprocess.Popen[str]]
) -> None:
    if flavor == 1 and find_influxd() is None:
        pytest.skip("influxd (InfluxDB 1.x) is not installed")
    if flavor == 2 and find_influxd2() is None:
        pytest.fail("InfluxDB 2 is not built: run `make setup`", pytrace=False)
    port = free_port()
    process, line = _launch(
        launched, "--flavor", str(flavor), "--workdir", str(tmp_path), "--port", str(port)
    )
    assert line.startswith("wattcast-influxdb: InfluxDB "), line + (
        process.stderr.read() if process.stderr else ""
    )
    assert f"ready at http://127.0.0.1:{port}" in line
    file = tmp_path / "connection.json"
    assert str(file) in line
    assert file.stat().st_mode & 0o077 == 0
    data = json.loads(file.read_text())
    assert set(data) == {
        "flavor",
        "version",
        "url",
        "dialect",
        "org",
        "bucket",
        "database",
        "token",
        "readToken",
    }
    connection = InfluxConnection.from_json(data)
    assert connection.url == f"http://127.0.0.1:{port}"
    frame = generate_meter("water", start=START, end=START + timedelta(hours=4), seed=2, gaps=False)

    assert write_meter_to(connection, "water", "w1", frame) == 4
    if flavor == 2:
        assert connection.dialect == "flux" and connection.database == connection.bucket
        body = {"query": f'buckets() |> filter(fn: (r) => r.name == "{connection.bucket}")'}
        for token, status in ((connection.read_token, 200), ("wrong", 401)):
            response = requests.post(
                f"{connection.url}/api/v2/query",
                params={"org": connection.org},
                json=body,
                headers={"Authorization": f"Token {token}"},
                timeout=30,
            )
            assert response.status_code == status, response.text
        write = requests.post(
            f"{connection.url}/api/v2/write",
            params={"org": connection.org, "bucket": connection.bucket},
            data=b"water_consumption,meter_id=w2 consumption=1 1704067200000000000",
            headers={"Authorization": f"Token {connection.read_token}"},
            timeout=30,
        )
        assert write.status_code in (401, 403)
    else:
        assert connection.dialect == "influxql" and connection.org is None
        user, _, password = connection.read_token.partition(":")
        read = requests.get(
            f"{connection.url}/query",
            params={
                "db": connection.database,
                "q": "SELECT count(consumption) FROM water_consumption",
            },
            auth=(user, password),
            timeout=30,
        )
        assert (
            read.status_code == 200 and read.json()["results"][0]["series"][0]["values"][0][1] == 4
        )
        write = requests.post(
            f"{connection.url}/write",
            params={"db": connection.database},
            data=b"water_consumption,meter_id=w2 consumption=1 1704067200000000000",
            auth=(user, password),
            timeout=30,
        )
        assert write.status_code == 403

    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert not file.exists()
    assert not (tmp_path / "server").exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{connection.url}/ping", timeout=5)


def test_wattcast_influxdb_stops_on_sigint_too(
    tmp_path: Path, launched: list[subprocess.Popen[str]]
) -> None:
    if find_influxd2() is None:
        pytest.fail("InfluxDB 2 is not built: run `make setup`", pytrace=False)
    process, line = _launch(launched, "--flavor", "2", "--workdir", str(tmp_path))
    assert "ready at" in line
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert not (tmp_path / "connection.json").exists()


def test_wattcast_influxdb_refuses_bad_arguments(tmp_path: Path) -> None:
    for args in (["--flavor", "3", "--workdir", str(tmp_path)], ["--flavor", "2"],
                 ["--flavor", "2", "--workdir", str(tmp_path), "--port", "70000"]):  # fmt: skip
        result = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, args
        assert "usage: wattcast-influxdb" in result.stderr


def test_wattcast_influxdb_exits_1_when_the_port_is_taken(
    influx2: RunningInflux, tmp_path: Path
) -> None:
    port = influx2.server.port
    result = subprocess.run(
        [str(SCRIPT), "--flavor", "2", "--workdir", str(tmp_path), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "address already in use" in result.stderr
    assert not (tmp_path / "connection.json").exists()


def test_start_influx_writes_meters_in_one_call(tmp_path: Path) -> None:
    if find_influxd2() is None:
        pytest.fail("InfluxDB 2 is not built: run `make setup`", pytrace=False)
    frame = generate_meter(
        "household", start=START, end=START + timedelta(hours=6), seed=9, gaps=False
    )
    with start_influx(2, workdir=tmp_path, meters=[("electricity", "demo-1", frame)]) as running:
        assert InfluxConnection.load(tmp_path / "connection.json") == running.connection
        server = running.server
        assert isinstance(server, Influx2Server)
        back = _flux_frame(server, server.bucket, "demo-1", running.connection.read_token)
        assert len(back) == 6
    assert not (tmp_path / "connection.json").exists()
