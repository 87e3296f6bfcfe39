"""The Flux path against a real InfluxDB 2 (the one `make setup` builds), with the trainer's
read-only token: the seed's store and dialect.

Each test writes the seed's format (measurement `<type>_consumption`, tag `meter_id`, fields
`consumption`, `temperature`) into a bucket of its own with the all-access token, and reads it
as a trainer would: through `wattcast-trainer --spec ... --models-dir ... --termination-log
...` with a `dialect: flux` source and a URL, or through `FluxSource`, the same code. Shows
that the bound parameters reach the server (and that hostile values in them stay values),
that `aggregateWindow` on the server matches pandas' resampling of the raw points at every
resolution of the contract, and that a missing bucket, a wrong token, a token for another
bucket and a server that is down end with the reasons and exit codes of docs/trainer.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import SecretStr
from trainer_support import run_trainer, write_spec

from wattcast.crd import MeterType, Resolution
from wattcast.devtools.testbed.fixtures import Influx2Bucket, SyntheticMeterFactory
from wattcast.devtools.testbed.influx2 import Influx2Server
from wattcast.devtools.testbed.instance import RunningInflux
from wattcast.devtools.testbed.synthetic import generate_meter
from wattcast.forecasting.datasource import MeterQuery
from wattcast.forecasting.errors import InvalidConfigError
from wattcast.forecasting.influx.flux import FluxSource, build_query

START = datetime(2024, 3, 4, tzinfo=UTC)
DAYS = 42


def _write(influx2: RunningInflux, bucket: str, meter_id: str, frame: pd.DataFrame) -> int:
    connection = influx2.connection
    assert connection.org is not None
    from wattcast.devtools.testbed.influx import write_meter_v2

    return write_meter_v2(
        connection.url,
        connection.org,
        bucket,
        connection.token,
        "electricity",
        meter_id,
        frame,
        batch_size=20000,
    )


def _spec(influx2: RunningInflux, bucket: str, meter_id: str, days: int = DAYS) -> dict[str, Any]:
    connection = influx2.connection
    return {
        "meterId": meter_id,
        "meterType": "electricity",
        "start": START.isoformat().replace("+00:00", "Z"),
        "end": (START + timedelta(days=days)).isoformat().replace("+00:00", "Z"),
        "source": {
            "url": connection.url,
            "dialect": "flux",
            "org": connection.org,
            "bucket": bucket,
        },
        "model": {"holdoutDays": 7, "epochs": 10},
    }


def _train(
    spec: dict[str, Any], token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.setenv("INFLUX_TOKEN", token)
    path = write_spec(tmp_path / "tj.yaml", spec)
    return run_trainer(
        ["--spec", str(path), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
    )


def _source(influx2: RunningInflux, bucket: str, token: str) -> FluxSource:
    connection = influx2.connection
    assert connection.org is not None
    return FluxSource(
        url=connection.url, org=connection.org, bucket=bucket, token=SecretStr(token), timeout=60
    )


# --- training through the standalone trainer -------------------------------------------------


@pytest.mark.slow
def test_trains_from_influxdb2_with_the_read_only_token(
    influx2: RunningInflux,
    influx2_bucket: Influx2Bucket,
    synthetic_meter: SyntheticMeterFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Six weeks of a flat's quarter-hours (gaps, outliers, weather): the server averages them
    # to the model's hour.
    meter = synthetic_meter("household", start=START, days=DAYS, freq="15min", seed=21)
    _write(influx2, influx2_bucket.name, "flat-3", meter.observed)
    spec = _spec(influx2, influx2_bucket.name, "flat-3")

    run = _train(spec, influx2_bucket.read_token, tmp_path, monkeypatch)

    assert run.exit_code == 0, run.output
    assert run.termination is not None and run.termination["phase"] == "Succeeded"
    result = run.termination["result"]
    assert (tmp_path / "models" / result["modelPath"]).is_file()
    hours_with_data = meter.observed["consumption"].resample("1h").count().gt(0).sum()
    assert result["dataPoints"] <= hours_with_data
    assert result["dataPoints"] > 0.9 * hours_with_data
    metrics = result["metrics"]
    assert metrics["model"]["mae"] < metrics["baselines"]["naiveDaily"]["mae"]


def test_a_meter_without_data_exits_2_with_no_data(
    influx2: RunningInflux,
    influx2_bucket: Influx2Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _train(
        _spec(influx2, influx2_bucket.name, "ghost"),
        influx2_bucket.read_token,
        tmp_path,
        monkeypatch,
    )
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "NoData"


# --- what the server refuses, mapped to docs/trainer.md's reasons and exit codes -------------


def test_a_missing_bucket_exits_2_with_invalid_config(
    influx2: RunningInflux, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(influx2, "no_such_bucket", "m1")
    run = _train(spec, influx2.connection.token, tmp_path, monkeypatch)
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "InvalidConfig"
    # The server's own words, not the client's bytes repr (found on the real server).
    assert run.termination["message"].endswith(
        "refused the query with HTTP 404: failed to initialize execute state: "
        'could not find bucket "no_such_bucket"'
    )
    assert not (tmp_path / "models").exists()


def test_a_wrong_token_exits_2_with_invalid_config(
    influx2: RunningInflux,
    influx2_bucket: Influx2Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = _spec(influx2, influx2_bucket.name, "m1")
    run = _train(spec, "not-a-token-of-this-server", tmp_path, monkeypatch)
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "InvalidConfig"
    assert "refused the token (HTTP 401)" in run.termination["message"]


def test_a_token_for_another_bucket_exits_2_with_invalid_config(
    influx2: RunningInflux,
    influx2_bucket: Influx2Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meter = generate_meter("household", start=START, end=START + timedelta(days=2), seed=1)
    _write(influx2, influx2.connection.bucket or "", "m1", meter)
    # The test's read token may read its own bucket only, not the server's main one.
    spec = _spec(influx2, influx2.connection.bucket or "", "m1")
    run = _train(spec, influx2_bucket.read_token, tmp_path, monkeypatch)
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "InvalidConfig"


def test_a_wrong_org_exits_2_with_invalid_config(
    influx2: RunningInflux,
    influx2_bucket: Influx2Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = _spec(influx2, influx2_bucket.name, "m1")
    spec["source"]["org"] = "no-such-org"
    run = _train(spec, influx2.connection.token, tmp_path, monkeypatch)
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "InvalidConfig"
    assert 'organization name "no-such-org" not found' in run.termination["message"]


def test_a_server_that_is_down_exits_1_with_influx_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Influx2Server() as server:
        url, org, bucket, token = server.url, server.org, server.bucket, server.read_token
    spec = {
        "meterId": "m1",
        "meterType": "electricity",
        "start": START.isoformat(),
        "end": (START + timedelta(days=DAYS)).isoformat(),
        "source": {"url": url, "dialect": "flux", "org": org, "bucket": bucket},
    }
    run = _train(spec, token, tmp_path, monkeypatch)
    assert run.exit_code == 1
    assert run.termination is not None and run.termination["reason"] == "InfluxUnavailable"
    assert not (tmp_path / "models").exists()


# --- bound parameters on the real server -------------------------------------------------------


def test_bound_parameters_select_exactly_one_meter_and_range(
    influx2: RunningInflux, influx2_bucket: Influx2Bucket
) -> None:
    # Ids with every character the contract allows, one a prefix of the other, and a third
    # meter in another measurement's type: each read returns its own points only.
    end = START + timedelta(days=3)
    first = generate_meter("household", start=START, end=end, seed=1)
    second = generate_meter("commercial", start=START, end=end, seed=2)
    _write(influx2, influx2_bucket.name, "Flat_1.a:b-c", first)
    _write(influx2, influx2_bucket.name, "Flat_1.a:b-c2", second)
    source = _source(influx2, influx2_bucket.name, influx2_bucket.read_token)
    try:
        day2 = START + timedelta(days=1)
        got = source.fetch(
            MeterQuery("Flat_1.a:b-c", MeterType.ELECTRICITY, day2, day2 + timedelta(hours=6))
        )
        other = source.fetch(MeterQuery("Flat_1.a:b-c2", MeterType.ELECTRICITY, START, end))
        water = source.fetch(MeterQuery("Flat_1.a:b-c", MeterType.WATER, START, end))
    finally:
        source.close()
    want = first.loc[day2 : day2 + timedelta(hours=6) - timedelta(seconds=1)]
    pd.testing.assert_frame_equal(got, want, check_freq=False, check_names=False)
    pd.testing.assert_frame_equal(other, second, check_freq=False, check_names=False)
    assert water.empty


@pytest.mark.parametrize(
    ("parameter", "hostile"),
    [
        ("_meter_id", 'x") or true or ("'),
        ("_meter_id", 'x" or r["meter_id"] != "'),
        ("_meter_id", 'x\\") |> drop(columns: ["_value"]) |> yield(name: "x") //'),
        ("_bucket", 'energy_data") |> range(start: 0) |> yield(name: "leak'),
    ],
    ids=["or-true", "not-equal", "escaped-quote", "bucket"],
)
def test_hostile_parameter_values_stay_values_on_the_server(
    influx2: RunningInflux, influx2_bucket: Influx2Bucket, parameter: str, hostile: str
) -> None:
    # The trainer refuses such ids long before a query (InvalidMeterId); this sends them to
    # the real server anyway, through the same client call as FluxSource, to show that the
    # `extern` parameters cannot change the query: no other meter's data, no other table.
    meter = generate_meter("household", start=START, end=START + timedelta(days=1), seed=3)
    _write(influx2, influx2_bucket.name, "x", meter)
    source = _source(influx2, influx2_bucket.name, influx2_bucket.read_token)
    query = MeterQuery("x", MeterType.ELECTRICITY, START, START + timedelta(days=1), None)
    text, params = build_query(query, influx2_bucket.name)
    params[parameter] = hostile
    try:
        if parameter == "_bucket":
            with pytest.raises(InvalidConfigError, match="could not find bucket"):
                source.query_frame(text, params)
        else:
            assert source.query_frame(text, params).empty
        assert len(source.query_frame(*build_query(query, influx2_bucket.name))) == len(meter)
    finally:
        source.close()


# --- aggregation on the server --------------------------------------------------------------


@pytest.mark.parametrize("resolution", [None, *Resolution], ids=lambda r: r.value if r else "raw")
def test_aggregate_window_matches_pandas_resampling(
    influx2: RunningInflux, influx2_bucket: Influx2Bucket, resolution: Resolution | None
) -> None:
    # Three days of minutes with gaps and temperatures missing in places.
    end = START + timedelta(days=3)
    raw = generate_meter("household", start=START, end=end, freq="1min", seed=7)
    rng = np.random.default_rng(7)
    raw = raw.drop(raw.index[rng.random(len(raw)) < 0.05])
    raw.loc[raw.index[1000:1400], "temperature"] = np.nan
    raw = raw.drop(raw.index[2000:2200])  # a gap longer than every window
    _write(influx2, influx2_bucket.name, "minutes", raw)
    source = _source(influx2, influx2_bucket.name, influx2_bucket.read_token)
    try:
        got = source.fetch(MeterQuery("minutes", MeterType.ELECTRICITY, START, end, resolution))
    finally:
        source.close()

    if resolution is None:
        want = raw.dropna(how="all")
    else:
        window = pd.Timedelta(minutes=resolution.minutes)
        want = raw.resample(window, label="left", closed="left").mean().dropna(how="all")
    assert list(got.columns) == ["consumption", "temperature"]
    assert got.index.tz is not None and str(got.index.tz) == "UTC"
    pd.testing.assert_frame_equal(
        got, want, check_freq=False, check_names=False, rtol=1e-12, atol=1e-12
    )


def test_a_partial_first_window_is_labelled_with_the_range_start(
    influx2: RunningInflux, influx2_bucket: Influx2Bucket
) -> None:
    # Found on the real server: Flux cuts the windows at the range, so a range that starts
    # inside a window labels that window's mean with the range start (InfluxQL's GROUP BY time
    # labels it with the window's grid start). The trainer's grid starts at the first whole
    # window (preparation.regular_grid), so neither label reaches a model.
    raw = generate_meter(
        "household", start=START, end=START + timedelta(hours=4), freq="1min", seed=8, gaps=False
    )
    _write(influx2, influx2_bucket.name, "late", raw)
    start = START + timedelta(minutes=20)
    source = _source(influx2, influx2_bucket.name, influx2_bucket.read_token)
    try:
        got = source.fetch(
            MeterQuery("late", MeterType.ELECTRICITY, start, START + timedelta(hours=4))
        )
    finally:
        source.close()
    assert list(got.index) == [
        start,
        *pd.date_range(START + timedelta(hours=1), periods=3, freq="1h"),
    ]
    first = raw.loc[start : START + timedelta(minutes=59)].mean()
    assert got.iloc[0].to_numpy() == pytest.approx(first.to_numpy(), rel=1e-12)
