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
import json
from typing import Any

import pandas as pd
from pydantic import SecretStr

from wattcast.crd import constants
from wattcast.forecasting.datasource import MeterQuery, check_influx_name
from wattcast.forecasting.errors import InvalidConfigError, SourceUnavailableError
from wattcast.forecasting.influx.responses import empty_frame, influx_error_text

_FIELDS = (constants.FIELD_CONSUMPTION, constants.FIELD_TEMPERATURE)


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


def _blocks(body: bytes) -> list[memoryview]:
    """The body's table blocks, as views (a meter-year is 35 MB: no copies). InfluxDB
    separates them by an empty line (CRLF line ends; plain LF accepted too)."""
    separator = b"\r\n\r\n" if b"\r\n" in body[:4096] else b"\n\n"
    view = memoryview(body)
    blocks, start = [], 0
    while start < len(body):
        stop = body.find(separator, start)
        stop = len(body) if stop < 0 else stop
        blocks.append(view[start:stop])
        start = stop + len(separator)
    return blocks


def _header_offset(block: bytes | memoryview) -> int:
    """Where the block's header row starts, after its `#` annotation rows (-1: none)."""
    data = bytes(block[:4096])
    offset = 0
    while data.startswith(b"#", offset):
        offset = data.find(b"\n", offset) + 1
        if offset == 0:
            return -1
    while data.startswith((b"\r", b"\n"), offset):
        offset += 1
    return offset if offset < len(data) else -1


def parse_annotated_csv(body: bytes, *, where: str = "InfluxDB") -> pd.DataFrame:
    """InfluxDB 2 annotated CSV (one block per table schema) to a frame.

    Annotation rows start with `#`; blocks are separated by an empty line and each has its
    own header. An in-band error table (columns `error`, `reference`) raises. Each block goes
    through pyarrow's CSV reader with only `_time` and the fields, `_time` parsed as UTC
    timestamps there: about 10x faster than pandas' parser and `to_datetime` on a meter-year
    of minutes (docs/trainer.md).
    """
    import pyarrow as pa
    from pyarrow import csv

    frames = []
    for block in _blocks(body):
        offset = _header_offset(block)
        if offset < 0:
            continue
        head = bytes(block[offset : offset + 4096])
        end = head.find(b"\n")
        if end < 0 or not head[end:].strip():
            continue  # a header without rows
        names = head[:end].decode(errors="replace").strip().split(",")
        if "error" in names:
            frame = pd.read_csv(io.BytesIO(bytes(block[offset:])))
            message = str(frame["error"].iloc[0]) if len(frame) else "unknown error"
            raise InvalidConfigError(
                f"{where} refused the Flux query: {influx_error_text(message)}"
            )
        columns = [c for c in _FIELDS if c in names]
        if "_time" not in names or not columns:
            continue
        table = csv.read_csv(
            pa.py_buffer(block[offset:]),
            convert_options=csv.ConvertOptions(
                include_columns=["_time", *columns],
                column_types={"_time": pa.timestamp("ns", tz="UTC")}
                | {c: pa.float64() for c in columns},
            ),
        )
        if table.num_rows == 0:
            continue
        part = table.select(columns).to_pandas()
        part.index = pd.DatetimeIndex(table.column("_time").to_pandas(), name="time")
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


def error_detail(body: bytes | str | None, reason: str | None) -> str:
    """What InfluxDB 2 says went wrong: the `message` of its JSON error body.

    influxdb-client hands the body over as bytes, e.g. `{"code": "not found", "message":
    "failed to initialize execute state: could not find bucket ..."}`; anything that is not
    such JSON is shown as text. At most 300 characters.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        message = json.loads(text).get("message")
    except (ValueError, AttributeError):
        message = None
    return (message if isinstance(message, str) and message else text or reason or "")[:300]


class FluxSource:
    """A DataSource over InfluxDB 2's `/api/v2/query` (see the module doc).

    Failures name the source by `name` (the administrator's name for it), never by its URL.
    """

    def __init__(
        self,
        *,
        url: str,
        org: str,
        bucket: str,
        token: SecretStr | None,
        timeout: float,
        name: str = "default",
    ) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient

        self.url = url.rstrip("/")
        self.name = name
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
        frame = self.query_frame(*build_last_query(query, self.bucket))
        return None if frame.empty else pd.Timestamp(frame.index.max())

    def fetch(self, query: MeterQuery) -> pd.DataFrame:
        return self.query_frame(*build_query(query, self.bucket))

    def query_frame(self, text: str, params: dict[str, Any]) -> pd.DataFrame:
        """Run a query of :func:`build_query`'s shape with its parameters; the frame."""
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        where = f"InfluxDB source {self.name!r}"
        try:
            response = self._client.query_api().query_raw(text, org=self.org, params=params)
            body = response.data if hasattr(response, "data") else response.read()
        except ApiException as error:
            status = int(error.status or 0)
            detail = f"{self.url}: {error_detail(error.body, error.reason)}"
            if status >= 500 or status == 429:
                raise SourceUnavailableError(
                    f"{where} failed with HTTP {status}", detail=detail
                ) from error
            if status in (401, 403):
                raise InvalidConfigError(
                    f"{where} refused the token (HTTP {status})", detail=detail
                ) from error
            raise InvalidConfigError(
                f"{where} refused the query with HTTP {status}: {influx_error_text(error.body)}",
                detail=detail,
            ) from error
        except (HTTPError, OSError) as error:
            raise SourceUnavailableError(
                f"{where} is unreachable", detail=f"{self.url}: {error!r}"
            ) from error
        return parse_annotated_csv(bytes(body), where=where)

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]
