"""The `influxql` dialect: InfluxDB's HTTP `/query` with CSV responses.

Works with InfluxDB 1.x, 2.x's v1 compatibility API and 3.x. The meter id and the time range
are bound parameters (`params`, supported since InfluxDB 1.5; tested against 1.6.7). The
server computes the mean per window (`GROUP BY time(...)`), and the CSV body goes to
`pandas.read_csv` in one vectorised call: no per-row Python.

Authentication: a token of the form `user:password` (InfluxDB 1.x) is sent as HTTP basic auth,
which 1.x, 2.x's v1 API and 3.x all accept; any other token as `Authorization: Token ...`.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import requests
from pydantic import SecretStr

from wattcast.crd import constants
from wattcast.crd.times import rfc3339
from wattcast.forecasting.datasource import MeterQuery, check_influx_name
from wattcast.forecasting.errors import InvalidConfigError, SourceUnavailableError
from wattcast.forecasting.influx.responses import empty_frame, influx_error_text

_FIELDS = (constants.FIELD_CONSUMPTION, constants.FIELD_TEMPERATURE)


def build_query(query: MeterQuery) -> tuple[str, dict[str, str]]:
    """The InfluxQL statement and its bound parameters.

    The measurement is quoted from the MeterType enum and the window from the Resolution
    enum; everything a user typed is a parameter.
    """
    measurement = query.meter_type.measurement
    if query.resolution is None:
        select = ", ".join(f'"{field}"' for field in _FIELDS)
        group = ""
    else:
        select = ", ".join(f'mean("{field}") AS "{field}"' for field in _FIELDS)
        group = f" GROUP BY time({query.resolution.value}) fill(none)"
    # Only enum values and constants are formatted in; user values are bound parameters.
    where = f'"{constants.TAG_METER_ID}" = $meter_id AND time >= $start AND time < $end'
    statement = f'SELECT {select} FROM "{measurement}" WHERE {where}{group}'  # noqa: S608
    params = {
        "meter_id": query.meter_id,
        "start": rfc3339(query.start),
        "end": rfc3339(query.end),
    }
    return statement, params


def build_last_query(query: MeterQuery) -> tuple[str, dict[str, str]]:
    """The statement for the meter's last consumption reading in [start, end)."""
    measurement = query.meter_type.measurement
    field = constants.FIELD_CONSUMPTION
    where = f'"{constants.TAG_METER_ID}" = $meter_id AND time >= $start AND time < $end'
    statement = f'SELECT last("{field}") AS "{field}" FROM "{measurement}" WHERE {where}'  # noqa: S608
    params = {
        "meter_id": query.meter_id,
        "start": rfc3339(query.start),
        "end": rfc3339(query.end),
    }
    return statement, params


def parse_csv(body: bytes, unit: str = "ms", *, where: str = "InfluxDB") -> pd.DataFrame:
    """InfluxDB 1.x CSV (`name,tags,time,<fields>`, epoch times in `unit`) to a frame."""
    if not body.strip():
        return empty_frame()
    header = body[: body.find(b"\n")].decode(errors="replace").strip().split(",")
    if "error" in header:
        frame = pd.read_csv(io.BytesIO(body))
        raise InvalidConfigError(
            f"{where} refused the query: {influx_error_text(str(frame['error'].iloc[0]))}"
        )
    if "time" not in header or constants.FIELD_CONSUMPTION not in header:
        return empty_frame()
    # Only the time and the fields: `name` repeats the measurement on every row. pyarrow's
    # multi-threaded reader is about 3x faster than pandas' C parser on a meter-year of
    # minutes (docs/trainer.md).
    wanted = ["time", *(c for c in _FIELDS if c in header)]
    frame = pd.read_csv(io.BytesIO(body), usecols=wanted, engine="pyarrow")
    index = pd.DatetimeIndex(pd.to_datetime(frame["time"].to_numpy(), unit=unit, utc=True))
    columns = [c for c in _FIELDS if c in frame.columns]
    out = frame[columns].apply(pd.to_numeric, errors="coerce").astype("float64")
    out.index = index.rename("time")
    if constants.FIELD_TEMPERATURE in out.columns and out["temperature"].isna().all():
        out = out.drop(columns=[constants.FIELD_TEMPERATURE])
    return out.sort_index()


class InfluxQLSource:
    """A DataSource over `/query` (see the module doc).

    Failures name the source by `name` (the administrator's name for it), never by its URL.
    """

    def __init__(
        self,
        *,
        url: str,
        database: str,
        token: SecretStr | None,
        timeout: float,
        name: str = "default",
    ) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.database = check_influx_name("database", database)
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/csv"
        # InfluxDB gzips when asked (requests asks by default); for bulk CSV on a cluster
        # network compressing costs both sides more CPU than the transfer it saves (measured:
        # docs/trainer.md), so ask for the plain body, as curl does.
        self._session.headers["Accept-Encoding"] = "identity"
        secret = token.get_secret_value() if token is not None else ""
        if ":" in secret:
            user, _, password = secret.partition(":")
            self._session.auth = (user, password)
        elif secret:
            self._session.headers["Authorization"] = f"Token {secret}"

    def request_params(self, query: MeterQuery) -> dict[str, str]:
        statement, params = build_query(query)
        return {
            "db": self.database,
            "q": statement,
            "params": json.dumps(params),
            # Millisecond epochs: exact for meter data, shorter to send and parse than ns.
            "epoch": "ms",
        }

    def last_time(self, query: MeterQuery) -> pd.Timestamp | None:
        """Time of the meter's last consumption reading in [start, end), or None."""
        statement, params = build_last_query(query)
        frame = self._post(
            {"db": self.database, "q": statement, "params": json.dumps(params), "epoch": "ms"}
        )
        return None if frame.empty else pd.Timestamp(frame.index.max())

    def fetch(self, query: MeterQuery) -> pd.DataFrame:
        return self._post(self.request_params(query))

    def _post(self, data: dict[str, str]) -> pd.DataFrame:
        where = f"InfluxDB source {self.name!r}"
        try:
            response = self._session.post(f"{self.url}/query", data=data, timeout=self.timeout)
        except requests.RequestException as error:
            raise SourceUnavailableError(
                f"{where} is unreachable", detail=f"{self.url}: {error!r}"
            ) from error
        status = response.status_code
        detail = f"{self.url}: HTTP {status}: {response.text.strip()[:300]}"
        if status >= 500 or status == 429:
            raise SourceUnavailableError(f"{where} failed with HTTP {status}", detail=detail)
        if status in (401, 403):
            raise InvalidConfigError(
                f"{where} refused the credentials (HTTP {status})", detail=detail
            )
        if status != 200:
            raise InvalidConfigError(
                f"{where} refused the query with HTTP {status}: "
                f"{influx_error_text(response.content)}",
                detail=detail,
            )
        return parse_csv(response.content, where=where)

    def close(self) -> None:
        self._session.close()
