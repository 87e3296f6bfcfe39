"""The `flux` dialect: InfluxDB 2.x through influxdb-client, the seed's query shape.

The query is the seed's (`from |> range |> filter(_measurement) |> filter(meter_id) |> pivot`)
plus a field filter, a server-side `aggregateWindow` (the mean per window, labelled with the
window's start, like InfluxQL's `GROUP BY time`) and a `keep` of the columns we read. Bucket,
meter id and range are query parameters: influxdb-client sends them as typed `option`
statements in the request's `extern` AST (`_bucket`, `_meter_id`, `_start`, `_stop`), never
pasted into the query text; the measurement comes from the MeterType enum, the window from the
Resolution enum.

The response is InfluxDB 2's annotated CSV (`query_raw`), parsed with one `pandas.read_csv`
per table schema instead of the client's row-by-row parser.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd
from pydantic import SecretStr

from wattcast.crd import constants
from wattcast.forecasting.errors import InvalidConfigError, SourceUnavailableError
from wattcast.forecasting.sources import MeterQuery, check_influx_name, empty_frame

_FIELDS = (constants.FIELD_CONSUMPTION, constants.FIELD_TEMPERATURE)
_BLOCK_SEPARATOR = re.compile(rb"\r?\n[ \t]*\r?\n")


def build_query(query: MeterQuery, bucket: str) -> tuple[str, dict[str, Any]]:
    """The Flux text and its parameters (`_bucket`, `_meter_id`, `_start`, `_stop`)."""
    check_influx_name("bucket", bucket)
    fields = " or ".join(f'r["_field"] == "{field}"' for field in _FIELDS)
    lines = [
        "from(bucket: _bucket)",
        "  |> range(start: _start, stop: _stop)",
        f'  |> filter(fn: (r) => r["_measurement"] == "{query.meter_type.measurement}")',
        f'  |> filter(fn: (r) => r["{constants.TAG_METER_ID}"] == _meter_id)',
        f"  |> filter(fn: (r) => {fields})",
    ]
    if query.resolution is not None:
        lines.append(
            f"  |> aggregateWindow(every: {query.resolution.value}, fn: mean, "
            'createEmpty: false, timeSrc: "_start")'
        )
    lines += [
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        '  |> keep(columns: ["_time", "consumption", "temperature"])',
    ]
    params = {
        "_bucket": bucket,
        "_meter_id": query.meter_id,
        "_start": query.start,
        "_stop": query.end,
    }
    return "\n".join(lines), params


def build_last_query(query: MeterQuery, bucket: str) -> tuple[str, dict[str, Any]]:
    """The Flux text for the meter's last consumption reading in [start, end)."""
    check_influx_name("bucket", bucket)
    lines = [
        "from(bucket: _bucket)",
        "  |> range(start: _start, stop: _stop)",
        f'  |> filter(fn: (r) => r["_measurement"] == "{query.meter_type.measurement}")',
        f'  |> filter(fn: (r) => r["{constants.TAG_METER_ID}"] == _meter_id)',
        f'  |> filter(fn: (r) => r["_field"] == "{constants.FIELD_CONSUMPTION}")',
        "  |> last()",
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        '  |> keep(columns: ["_time", "consumption"])',
    ]
    params = {
        "_bucket": bucket,
        "_meter_id": query.meter_id,
        "_start": query.start,
        "_stop": query.end,
    }
    return "\n".join(lines), params


def parse_annotated_csv(body: bytes) -> pd.DataFrame:
    """InfluxDB 2 annotated CSV (one block per table schema) to a frame.

    Annotation rows start with `#`; blocks are separated by an empty line and each has its
    own header. An in-band error table (columns `error`, `reference`) raises.
    """
    frames = []
    for block in _BLOCK_SEPARATOR.split(body):
        if not block.strip():
            continue
        frame = pd.read_csv(io.BytesIO(block), comment="#", skip_blank_lines=True)
        if "error" in frame.columns:
            message = str(frame["error"].iloc[0]) if len(frame) else "unknown error"
            raise InvalidConfigError(f"InfluxDB refused the Flux query: {message}")
        if "_time" not in frame.columns or frame.empty:
            continue
        columns = [c for c in _FIELDS if c in frame.columns]
        part = frame[columns].apply(pd.to_numeric, errors="coerce").astype("float64")
        part.index = pd.DatetimeIndex(
            pd.to_datetime(frame["_time"], utc=True, format="ISO8601"), name="time"
        )
        frames.append(part)
    if not frames:
        return empty_frame()
    out = pd.concat(frames)
    if constants.FIELD_CONSUMPTION not in out.columns:
        return empty_frame()
    if not out.index.is_unique:
        # Several series of one meter (extra tags): one value per time, their mean.
        out = out.groupby(level=0).mean()
    if constants.FIELD_TEMPERATURE in out.columns and out["temperature"].isna().all():
        out = out.drop(columns=[constants.FIELD_TEMPERATURE])
    return out.sort_index()


class FluxSource:
    """A DataSource over InfluxDB 2's `/api/v2/query` (see the module doc)."""

    def __init__(
        self, *, url: str, org: str, bucket: str, token: SecretStr | None, timeout: float
    ) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient

        self.url = url.rstrip("/")
        self.org = org
        self.bucket = check_influx_name("bucket", bucket)
        self._client = InfluxDBClient(
            url=self.url,
            token=token.get_secret_value() if token is not None else "",
            org=org,
            timeout=int(timeout * 1000),
        )

    def last_time(self, query: MeterQuery) -> pd.Timestamp | None:
        """Time of the meter's last consumption reading in [start, end), or None."""
        frame = self._query(*build_last_query(query, self.bucket))
        return None if frame.empty else pd.Timestamp(frame.index.max())

    def fetch(self, query: MeterQuery) -> pd.DataFrame:
        return self._query(*build_query(query, self.bucket))

    def _query(self, text: str, params: dict[str, Any]) -> pd.DataFrame:
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        try:
            response = self._client.query_api().query_raw(text, org=self.org, params=params)
            body = response.data if hasattr(response, "data") else response.read()
        except ApiException as error:
            status = int(error.status or 0)
            detail = (error.body or error.reason or "")[:300]
            if status >= 500 or status == 429:
                raise SourceUnavailableError(
                    f"InfluxDB at {self.url} failed with HTTP {status}: {detail}"
                ) from error
            if status in (401, 403):
                raise InvalidConfigError(
                    f"InfluxDB at {self.url} refused the token (HTTP {status})"
                ) from error
            raise InvalidConfigError(
                f"InfluxDB at {self.url} refused the query with HTTP {status}: {detail}"
            ) from error
        except (HTTPError, OSError) as error:
            raise SourceUnavailableError(
                f"InfluxDB at {self.url} is unreachable: {type(error).__name__}"
            ) from error
        return parse_annotated_csv(bytes(body))

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]
