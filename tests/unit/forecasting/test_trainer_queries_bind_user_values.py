"""Query building and response parsing of both dialects: user values are bound, never pasted."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from wattcast.crd import MeterType, Resolution
from wattcast.forecasting.datasource import MeterQuery, check_meter_id
from wattcast.forecasting.errors import InvalidConfigError, InvalidMeterIdError
from wattcast.forecasting.influx import flux, influxql

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 2, 1, tzinfo=UTC)

HOSTILE_IDS = [
    'm1" OR 1=1 --',
    "m1' OR ''='",
    'x") |> drop() //',
    "../../etc/passwd",
    "",
    " leading-space",
    "a" * 129,
    "m1\nDROP DATABASE x",
    "m1;DROP",
]


@pytest.mark.parametrize("meter_id", HOSTILE_IDS, ids=lambda v: repr(v)[:20])
def test_hostile_meter_ids_are_refused_before_any_query(meter_id: str) -> None:
    with pytest.raises(InvalidMeterIdError, match="no query was sent"):
        check_meter_id(meter_id)
    with pytest.raises(InvalidMeterIdError):
        MeterQuery(meter_id=meter_id, meter_type=MeterType.ELECTRICITY, start=START, end=END)


@pytest.mark.parametrize("meter_id", ["meter1", "a.b:c-d_e", "0" * 128], ids=str)
def test_valid_meter_ids_pass(meter_id: str) -> None:
    assert check_meter_id(meter_id) == meter_id


def test_influxql_binds_meter_and_range_and_aggregates_on_the_server() -> None:
    query = MeterQuery(meter_id="m-1.x", meter_type=MeterType.WATER, start=START, end=END)
    statement, params = influxql.build_query(query)
    assert "m-1.x" not in statement
    assert '"meter_id" = $meter_id' in statement
    assert "time >= $start AND time < $end" in statement
    assert 'FROM "water_consumption"' in statement
    assert "GROUP BY time(1h)" in statement
    assert 'mean("consumption")' in statement
    assert params == {
        "meter_id": "m-1.x",
        "start": "2024-01-01T00:00:00Z",
        "end": "2024-02-01T00:00:00Z",
    }


def test_influxql_raw_query_has_no_aggregation() -> None:
    query = MeterQuery(
        meter_id="m", meter_type=MeterType.ELECTRICITY, start=START, end=END, resolution=None
    )
    statement, _ = influxql.build_query(query)
    assert "GROUP BY" not in statement and "mean(" not in statement


def test_influxql_request_params_are_json_bound() -> None:
    source = influxql.InfluxQLSource(
        url="http://127.0.0.1:1", database="energy", token=None, timeout=1
    )
    query = MeterQuery(meter_id="m1", meter_type=MeterType.ELECTRICITY, start=START, end=END)
    request = source.request_params(query)
    assert request["db"] == "energy"
    assert json.loads(request["params"])["meter_id"] == "m1"


def test_influxql_csv_is_parsed_to_a_utc_frame() -> None:
    body = (
        b"name,tags,time,consumption,temperature\n"
        b"electricity_consumption,,1704067200000,1.5,3.25\n"
        b"electricity_consumption,,1704070800000,2.5,\n"
    )
    frame = influxql.parse_csv(body)
    assert list(frame.columns) == ["consumption", "temperature"]
    assert frame.index[0] == pd.Timestamp("2024-01-01T00:00:00Z")
    assert frame["consumption"].tolist() == [1.5, 2.5]


def test_influxql_empty_body_is_an_empty_frame() -> None:
    assert influxql.parse_csv(b"").empty


def test_influxql_error_column_raises() -> None:
    with pytest.raises(InvalidConfigError, match="refused"):
        influxql.parse_csv(b'error\n"database not found: x"\n')


def test_flux_query_uses_params_and_the_seed_shape() -> None:
    query = MeterQuery(
        meter_id="m-1",
        meter_type=MeterType.ELECTRICITY,
        start=START,
        end=END,
        resolution=Resolution.MIN_15,
    )
    text, params = flux.build_query(query, "energy_data")
    assert "m-1" not in text and "energy_data" not in text
    assert "from(bucket: _bucket)" in text
    assert 'r["meter_id"] == _meter_id' in text
    assert "range(start: _start, stop: _stop)" in text
    assert 'r["_measurement"] == "electricity_consumption"' in text
    assert "aggregateWindow(every: 15m, fn: mean" in text and 'timeSrc: "_start"' in text
    assert "pivot(" in text
    assert params["_meter_id"] == "m-1" and params["_bucket"] == "energy_data"
    assert params["_start"] == START and params["_stop"] == END


def test_flux_bucket_name_is_validated() -> None:
    query = MeterQuery(meter_id="m", meter_type=MeterType.ELECTRICITY, start=START, end=END)
    with pytest.raises(InvalidConfigError):
        flux.build_query(query, 'x") |> drop()')


# Annotated CSV as InfluxDB 2 documents it (docs.influxdata.com, "Annotated CSV"): annotation
# rows, a header, one table per schema separated by an empty line.
ANNOTATED = (
    b"#datatype,string,long,dateTime:RFC3339,double,double\r\n"
    b"#group,false,false,false,false,false\r\n"
    b"#default,_result,,,,\r\n"
    b",result,table,_time,consumption,temperature\r\n"
    b",,0,2024-01-01T00:00:00Z,1.5,3.0\r\n"
    b",,0,2024-01-01T01:00:00Z,2.5,4.0\r\n"
    b"\r\n"
    b"#datatype,string,long,dateTime:RFC3339,double\r\n"
    b"#group,false,false,false,false\r\n"
    b"#default,_result,,,\r\n"
    b",result,table,_time,consumption\r\n"
    b",,1,2024-01-01T02:00:00Z,3.5\r\n"
    b"\r\n"
)


def test_flux_annotated_csv_with_two_schemas_is_parsed() -> None:
    frame = flux.parse_annotated_csv(ANNOTATED)
    assert frame["consumption"].tolist() == [1.5, 2.5, 3.5]
    assert frame.index[-1] == pd.Timestamp("2024-01-01T02:00:00Z")
    assert frame["temperature"].isna().tolist() == [False, False, True]


def test_flux_annotated_csv_edge_cases_are_parsed() -> None:
    # LF line ends, an empty field (no temperature in that window), nanosecond times, and a
    # block whose table has a header but no rows.
    body = (
        b"#datatype,string,long,dateTime:RFC3339Nano,double,double\n"
        b"#group,false,false,false,false,false\n"
        b"#default,_result,,,,\n"
        b",result,table,_time,consumption,temperature\n"
        b",,0,2024-01-01T00:00:00.000000001Z,1.5,\n"
        b",,0,2024-01-01T01:00:00Z,-2.5e-3,4\n"
        b"\n"
        b"#datatype,string,long,dateTime:RFC3339,double\n"
        b"#group,false,false,false,false\n"
        b"#default,_result,,,\n"
        b",result,table,_time,consumption\n"
        b"\n"
    )
    frame = flux.parse_annotated_csv(body)
    assert frame.index.tolist() == [
        pd.Timestamp("2024-01-01T00:00:00.000000001Z"),
        pd.Timestamp("2024-01-01T01:00:00Z"),
    ]
    assert str(frame.index.tz) == "UTC"
    assert frame["consumption"].tolist() == [1.5, -0.0025]
    assert frame["temperature"].isna().tolist() == [True, False]


def test_flux_annotated_csv_without_consumption_is_empty() -> None:
    body = (
        b"#datatype,string,long,dateTime:RFC3339,double\r\n#group,false,false,false,false\r\n"
        b"#default,_result,,,\r\n,result,table,_time,temperature\r\n"
        b",,0,2024-01-01T00:00:00Z,3\r\n\r\n"
    )
    assert flux.parse_annotated_csv(body).empty


def test_flux_error_table_raises() -> None:
    body = (
        b"#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n"
        b",error,reference\r\n,failed to parse query,897\r\n\r\n"
    )
    with pytest.raises(InvalidConfigError, match="failed to parse query"):
        flux.parse_annotated_csv(body)


def test_flux_empty_response_is_an_empty_frame() -> None:
    assert flux.parse_annotated_csv(b"\r\n").empty


@pytest.mark.parametrize(
    ("body", "reason", "shown"),
    [
        (
            b'{"code":"not found","message":"could not find bucket \\"x\\""}',
            None,
            'could not find bucket "x"',
        ),
        (b"<html>bad gateway</html>", "Bad Gateway", "<html>bad gateway</html>"),
        (None, "Service Unavailable", "Service Unavailable"),
        (b'{"code":"invalid"}', "Bad Request", '{"code":"invalid"}'),
        ("x" * 400, None, "x" * 300),
    ],
    ids=["json-message", "not-json", "no-body", "no-message", "long"],
)
def test_flux_errors_show_the_servers_message(
    body: bytes | str | None, reason: str | None, shown: str
) -> None:
    assert flux.error_detail(body, reason) == shown
