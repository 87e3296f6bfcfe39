"""Write-back: forecasts into InfluxDB, in the seed's format, both dialects.

Measurement `<meterType>_forecast`; tags `meter_id` and `model_version`; fields `forecast`,
`lower`, `upper` (floats) and `issued` (the forecast's origin, RFC 3339: the forecast uses data
before it only); the point's time is the forecast's time. A point is identified by
measurement, tags and time, so writing the same origin again rewrites the same points with the
same values: idempotent. A later origin overwrites the forecast for the hours both cover (the
newest forecast of an hour wins).

- `influxql` sources (InfluxDB 1.x, 2.x's v1 API): line protocol to `/write?db=...`.
- `flux` sources (InfluxDB 2.x): influxdb-client's synchronous write API to the bucket.

Floats are written with Python's shortest round-trip repr, so they read back exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import requests
from pydantic import SecretStr

from wattcast.crd import InfluxDialect, InfluxSource, MeterType
from wattcast.crd.constants import TAG_METER_ID
from wattcast.crd.times import rfc3339
from wattcast.forecasting.datasource import check_influx_name
from wattcast.forecasting.errors import InvalidConfigError, SourceUnavailableError
from wattcast.forecasting.serving import Forecast

FORECAST_SUFFIX = "_forecast"
TAG_MODEL_VERSION = "model_version"
FIELD_FORECAST = "forecast"
FIELD_LOWER = "lower"
FIELD_UPPER = "upper"
FIELD_ISSUED = "issued"


def forecast_measurement(meter_type: MeterType) -> str:
    return f"{MeterType(meter_type).value}{FORECAST_SUFFIX}"


def _tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError("forecasts are finite numbers")
    return repr(float(value))


def line_protocol(forecast: Forecast) -> list[str]:
    """One line per point, second precision."""
    measurement = forecast_measurement(forecast.meter_type)
    tags = (
        f"{TAG_METER_ID}={_tag(forecast.meter_id)},"
        f"{TAG_MODEL_VERSION}={_tag(forecast.model_version)}"
    )
    issued = rfc3339(forecast.origin.to_pydatetime())
    lines = []
    for time, value, lower, upper in zip(
        forecast.times, forecast.forecast, forecast.lower, forecast.upper, strict=True
    ):
        fields = (
            f"{FIELD_FORECAST}={_float(value)},{FIELD_LOWER}={_float(lower)},"
            f'{FIELD_UPPER}={_float(upper)},{FIELD_ISSUED}="{issued}"'
        )
        lines.append(f"{measurement},{tags} {fields} {int(time.timestamp())}")
    return lines


class ForecastWriter(Protocol):
    def write(self, forecasts: Sequence[Forecast]) -> int:
        """Write every point of `forecasts`; returns the number of points."""
        ...

    def close(self) -> None: ...


class InfluxQLWriter:
    """Line protocol to `/write` (InfluxDB 1.x and 2.x's v1 API)."""

    def __init__(self, *, url: str, database: str, token: SecretStr | None, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.database = check_influx_name("database", database)
        self.timeout = timeout
        self._session = requests.Session()
        secret = token.get_secret_value() if token is not None else ""
        if ":" in secret:
            user, _, password = secret.partition(":")
            self._session.auth = (user, password)
        elif secret:
            self._session.headers["Authorization"] = f"Token {secret}"

    def write(self, forecasts: Sequence[Forecast]) -> int:
        lines = [line for forecast in forecasts for line in line_protocol(forecast)]
        if not lines:
            return 0
        try:
            response = self._session.post(
                f"{self.url}/write",
                params={"db": self.database, "precision": "s"},
                data="\n".join(lines).encode(),
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise SourceUnavailableError(
                f"InfluxDB at {self.url} is unreachable: {type(error).__name__}"
            ) from error
        if response.status_code >= 500 or response.status_code == 429:
            raise SourceUnavailableError(
                f"InfluxDB at {self.url} failed the write with HTTP {response.status_code}"
            )
        if response.status_code != 204:
            raise InvalidConfigError(
                f"InfluxDB at {self.url} refused the write with HTTP {response.status_code}: "
                f"{response.text.strip()[:300]}"
            )
        return len(lines)

    def close(self) -> None:
        self._session.close()


class FluxWriter:
    """influxdb-client's synchronous write API (InfluxDB 2.x)."""

    def __init__(
        self, *, url: str, org: str, bucket: str, token: SecretStr | None, timeout: float
    ) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.url = url.rstrip("/")
        self.org = org
        self.bucket = check_influx_name("bucket", bucket)
        self._client = InfluxDBClient(
            url=self.url,
            token=token.get_secret_value() if token is not None else "",
            org=org,
            timeout=int(timeout * 1000),
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, forecasts: Sequence[Forecast]) -> int:
        from influxdb_client.domain.write_precision import WritePrecision
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        lines = [line for forecast in forecasts for line in line_protocol(forecast)]
        if not lines:
            return 0
        try:
            self._api.write(
                bucket=self.bucket,
                org=self.org,
                record=lines,
                write_precision=WritePrecision.S,  # type: ignore[arg-type]
            )
        except ApiException as error:
            status = int(error.status or 0)
            if status >= 500 or status == 429:
                raise SourceUnavailableError(
                    f"InfluxDB at {self.url} failed the write with HTTP {status}"
                ) from error
            raise InvalidConfigError(
                f"InfluxDB at {self.url} refused the write with HTTP {status}: "
                f"{(error.body or error.reason or '')[:300]}"
            ) from error
        except (HTTPError, OSError) as error:
            raise SourceUnavailableError(
                f"InfluxDB at {self.url} is unreachable: {type(error).__name__}"
            ) from error
        return len(lines)

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]


def make_writer(source: InfluxSource, token: SecretStr | None, *, timeout: float) -> ForecastWriter:
    if source.dialect == InfluxDialect.INFLUXQL:
        return InfluxQLWriter(
            url=source.url, database=source.database or "", token=token, timeout=timeout
        )
    if not source.org:
        raise InvalidConfigError("a flux source needs an org (INFLUX_ORG)")
    return FluxWriter(
        url=source.url, org=source.org, bucket=source.bucket or "", token=token, timeout=timeout
    )
