"""One call for a ready InfluxDB of either flavor, with its connection info and meters.

:func:`start_influx` starts a private server and sets it up as the trainer expects to find a
source, with credentials of two strengths:

- flavor ``2``: InfluxDB 2 (built by ``make setup``), Flux, an org, a bucket, the all-access
  token and a token that may only read the bucket;
- flavor ``1``: Debian's InfluxDB 1.6, InfluxQL, a database, an admin user and a user with
  READ on the database (tokens in the 1.x form ``user:password``).

The answer, :class:`InfluxConnection`, is what ``connection.json`` holds; ``wattcast-influxdb``
(:mod:`wattcast.devtools.testbed.console`) writes it for anyone outside Python.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import pandas as pd

from wattcast.devtools.testbed.influx import (
    InfluxProcess,
    InfluxServer,
    write_meter,
    write_meter_v2,
)
from wattcast.devtools.testbed.influx2 import DEFAULT_BUCKET, DEFAULT_ORG, Influx2Server

__all__ = [
    "CONNECTION_FILE",
    "Flavor",
    "InfluxConnection",
    "MeterData",
    "RunningInflux",
    "start_influx",
    "write_meter_to",
]

Flavor = Literal[1, 2]
#: What ``--workdir`` gets.
CONNECTION_FILE = "connection.json"
#: A meter to write at start: (meter type, meter id, frame with ``consumption`` [and
#: ``temperature``] on a UTC DatetimeIndex).
MeterData = tuple[str, str, pd.DataFrame]


@dataclass(frozen=True)
class InfluxConnection:
    """How to reach a running test-bed InfluxDB (the fields of ``connection.json``).

    ``token`` may do anything (2.x: the operator token; 1.x: the admin's ``user:password``);
    ``read_token`` may only read ``bucket`` / ``database`` (what a trainer should get).
    For 2.x, ``database`` is the bucket's name as its v1 API (InfluxQL) knows it.
    """

    flavor: Flavor
    version: str
    url: str
    dialect: Literal["flux", "influxql"]
    org: str | None
    bucket: str | None
    database: str | None
    token: str
    read_token: str

    def to_json(self) -> dict[str, Any]:
        """camelCase keys, as every file of ours."""
        data = asdict(self)
        data["readToken"] = data.pop("read_token")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InfluxConnection:
        fields = dict(data)
        fields["read_token"] = fields.pop("readToken")
        return cls(**fields)

    def save(self, path: Path) -> None:
        """Write as JSON, readable by the owner only (it holds the tokens)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.touch(mode=0o600)
        partial.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> InfluxConnection:
        return cls.from_json(json.loads(path.read_text()))

    def source(self, *, read_only: bool = True) -> tuple[dict[str, str], str]:
        """The trainer's ``spec.source`` for this server, and the token to give it."""
        source = {"url": self.url, "dialect": self.dialect}
        if self.dialect == "flux":
            assert self.org is not None and self.bucket is not None
            source |= {"org": self.org, "bucket": self.bucket}
        else:
            assert self.database is not None
            source["database"] = self.database
        return source, self.read_token if read_only else self.token


def write_meter_to(
    connection: InfluxConnection,
    meter_type: str,
    meter_id: str,
    frame: pd.DataFrame,
    **options: Any,
) -> int:
    """Write a meter in the seed's format to either flavor with the all-access token."""
    if connection.flavor == 2:
        assert connection.org is not None and connection.bucket is not None
        return write_meter_v2(
            connection.url,
            connection.org,
            connection.bucket,
            connection.token,
            meter_type,
            meter_id,
            frame,
            **options,
        )
    assert connection.database is not None
    user, _, password = connection.token.partition(":")
    return write_meter(
        connection.url,
        connection.database,
        meter_type,
        meter_id,
        frame,
        auth=(user, password),
        **options,
    )


class RunningInflux:
    """A started server and its :class:`InfluxConnection`; stop it (or leave the ``with``)."""

    def __init__(
        self, server: InfluxProcess, connection: InfluxConnection, file: Path | None
    ) -> None:
        self.server = server
        self.connection = connection
        self.file = file

    def write_meter(
        self, meter_type: str, meter_id: str, frame: pd.DataFrame, **options: Any
    ) -> int:
        """Write a meter in the seed's format; return the points written."""
        return write_meter_to(self.connection, meter_type, meter_id, frame, **options)

    def stop(self) -> None:
        """Stop the server, delete its data and the connection file."""
        self.server.stop()
        if self.file is not None:
            self.file.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_influx(
    flavor: Flavor,
    *,
    workdir: Path | None = None,
    port: int | None = None,
    meters: Iterable[MeterData] = (),
    org: str = DEFAULT_ORG,
    bucket: str = DEFAULT_BUCKET,
    database: str = DEFAULT_BUCKET,
) -> RunningInflux:
    """Start a set-up InfluxDB of ``flavor`` (see the module doc) and write ``meters`` to it.

    With ``workdir`` the server's files live in ``workdir/server`` and the connection is also
    written to ``workdir/connection.json`` (mode 0600); both go on :meth:`RunningInflux.stop`.
    Raises InfluxError (the server is stopped again) if anything fails.
    """
    server: InfluxProcess
    if flavor == 2:
        server2 = Influx2Server(org=org, bucket=bucket, workdir=workdir, port=port).start()
        server = server2
        connection = InfluxConnection(
            flavor=2,
            version=server2.version,
            url=server2.url,
            dialect="flux",
            org=server2.org,
            bucket=server2.bucket,
            # 2.x maps a bucket to the database of the same name in its v1 API.
            database=server2.bucket,
            token=server2.token,
            read_token=server2.read_token,
        )
    elif flavor == 1:
        server1 = InfluxServer(auth=True, workdir=workdir, port=port).start()
        server = server1
        try:
            server1.create_database(database)
            reader = server1.create_reader("reader", secrets.token_urlsafe(16), database)
            version = server1.server_version()
        except BaseException:
            server1.stop()
            raise
        assert server1.token is not None
        connection = InfluxConnection(
            flavor=1,
            version=version,
            url=server1.url,
            dialect="influxql",
            org=None,
            bucket=None,
            database=database,
            token=server1.token,
            read_token=reader,
        )
    else:
        raise ValueError(f"flavor must be 1 or 2, not {flavor!r}")
    running = RunningInflux(server, connection, None)
    try:
        for meter_type, meter_id, frame in meters:
            running.write_meter(meter_type, meter_id, frame)
        if workdir is not None:
            running.file = Path(workdir).resolve() / CONNECTION_FILE
            connection.save(running.file)
    except BaseException:
        running.stop()
        raise
    return running
