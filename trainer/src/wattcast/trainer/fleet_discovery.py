"""Meter discovery for a FleetTrainingJob's `meters.discover` (docs/trainer.md).

Runs once per fleet, in the discovery pod the operator starts before the Indexed Job: reads
every `meter_id` tag value of the measurement `<meterType>_consumption` in the source
(InfluxQL `SHOW TAG VALUES`, Flux `schema.tagValues` over the fleet's range), keeps the ids
the contract's meter id pattern and the fleet's pattern (`re.search`) accept, sorts them, and
writes them to the model store (`fleets/<uid>/meters.json`) only if no list is there yet: a
retried or repeated discovery finds the list already fixed and reports it unchanged.

The fleet's pattern is in the subset both RE2 and Python accept (wattcast.crd.fleettrainingjob);
Python's engine backtracks, so a pathological pattern costs time in this pod only, which the
fleet's activeDeadlineSeconds bounds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import requests
from pydantic import SecretStr

from wattcast.crd import InfluxDialect, InfluxSource, constants
from wattcast.crd.fieldtypes import METER_ID_PATTERN
from wattcast.crd.fleettrainingjob import MAX_FLEET_METERS, fleet_meters_path
from wattcast.forecasting.errors import (
    InvalidConfigError,
    NoDataError,
    SourceUnavailableError,
)
from wattcast.trainer.fleet import Fleet

_METER_ID = re.compile(METER_ID_PATTERN)


def _influxql_values(
    source: InfluxSource, token: SecretStr | None, measurement: str, timeout: float
) -> list[str]:
    session = requests.Session()
    secret = token.get_secret_value() if token is not None else ""
    if ":" in secret:
        user, _, password = secret.partition(":")
        session.auth = (user, password)
    elif secret:
        session.headers["Authorization"] = f"Token {secret}"
    statement = f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "{constants.TAG_METER_ID}"'
    where = f"InfluxDB source {source.name!r}"
    try:
        response = session.post(
            f"{source.url.rstrip('/')}/query",
            data={"db": source.database or "", "q": statement},
            headers={"Accept": "application/csv"},
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise SourceUnavailableError(f"{where} is unreachable", detail=repr(error)) from error
    finally:
        session.close()
    if response.status_code >= 500 or response.status_code == 429:
        raise SourceUnavailableError(f"{where} failed with HTTP {response.status_code}")
    if response.status_code != 200:
        raise InvalidConfigError(f"{where} refused the query with HTTP {response.status_code}")
    rows = csv.DictReader(io.StringIO(response.text))
    return [row["value"] for row in rows if row.get("key") == constants.TAG_METER_ID]


def _flux_values(
    fleet: Fleet, source: InfluxSource, token: SecretStr | None, measurement: str, timeout: float
) -> list[str]:
    from influxdb_client.client.influxdb_client import InfluxDBClient
    from influxdb_client.rest import ApiException
    from urllib3.exceptions import HTTPError

    where = f"InfluxDB source {source.name!r}"
    text = (
        'import "influxdata/influxdb/schema"\n'
        "schema.tagValues(bucket: params.bucket, tag: params.tag, start: time(v: params.start), "
        "stop: time(v: params.stop), predicate: (r) => r._measurement == params.measurement)"
    )
    params = {
        "bucket": source.bucket or "",
        "tag": constants.TAG_METER_ID,
        "measurement": measurement,
        "start": fleet.spec.start.isoformat(),
        "stop": fleet.spec.end.isoformat(),
    }
    client = InfluxDBClient(
        url=source.url.rstrip("/"),
        token=token.get_secret_value() if token is not None else "",
        org=source.org or "",
        timeout=int(timeout * 1000),
    )
    try:
        tables = client.query_api().query(text, org=source.org or "", params=params)
    except ApiException as error:
        status = int(error.status or 0)
        if status >= 500 or status == 429:
            raise SourceUnavailableError(f"{where} failed with HTTP {status}") from error
        raise InvalidConfigError(f"{where} refused the query with HTTP {status}") from error
    except (HTTPError, OSError) as error:
        raise SourceUnavailableError(f"{where} is unreachable", detail=repr(error)) from error
    finally:
        client.close()  # type: ignore[no-untyped-call]
    values = []
    for table in tables:
        for record in table.records:
            values.append(str(record.get_value()))  # type: ignore[no-untyped-call]
    return values


def select(values: list[str], pattern: str | None) -> list[str]:
    """Valid meter ids the pattern matches, each once, sorted."""
    wanted = re.compile(pattern) if pattern else None
    ids = {v for v in values if _METER_ID.fullmatch(v) and (wanted is None or wanted.search(v))}
    return sorted(ids)


def discover(
    fleet: Fleet, source: InfluxSource, token: SecretStr | None, models_dir: Path, timeout: float
) -> list[str]:
    """The fleet's fixed meter list: the stored one, or discovered and stored now."""
    path = models_dir / fleet_meters_path(fleet.uid)
    if path.exists():
        return list(json.loads(path.read_text()))
    discovery = fleet.spec.meters.discover
    measurement = fleet.spec.meter_type.measurement
    if source.dialect is InfluxDialect.FLUX:
        values = _flux_values(fleet, source, token, measurement, timeout)
    else:
        values = _influxql_values(source, token, measurement, timeout)
    meters = select(values, discovery.pattern if discovery else None)
    if not meters:
        raise NoDataError(f"no meter of {measurement} matches the fleet's meters.discover")
    if len(meters) > MAX_FLEET_METERS:
        raise InvalidConfigError(f"more than {MAX_FLEET_METERS} meters match")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".meters.{os.getpid()}.tmp")
    partial.write_text(json.dumps(meters))
    try:
        os.link(partial, path)  # create only if absent: the first list stays
    except FileExistsError:
        pass
    finally:
        partial.unlink(missing_ok=True)
    return list(json.loads(path.read_text()))
