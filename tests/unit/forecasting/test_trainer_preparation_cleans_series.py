"""Preparation: fixed frequency, bounded gap filling, negatives, outliers, too little data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wattcast.crd import MeterType
from wattcast.forecasting.errors import DataInsufficientError, NoDataError
from wattcast.forecasting.preparation import find_outliers, prepare

START = pd.Timestamp("2024-01-01T00:00:00Z")
HOUR = pd.Timedelta(hours=1)


def _meter(days: int, seed: int = 0) -> pd.DataFrame:
    index = pd.date_range(START, periods=days * 24, freq="1h", name="time")
    rng = np.random.default_rng(seed)
    hour = index.hour.to_numpy()
    values = 1.0 + 0.5 * np.sin(2 * np.pi * hour / 24) + 0.05 * rng.standard_normal(len(index))
    return pd.DataFrame({"consumption": values, "temperature": 5.0 + hour / 10}, index=index)


def _prepare(frame: pd.DataFrame, days: int, **kwargs: object) -> object:
    options: dict[str, object] = {
        "start": START,
        "end": START + pd.Timedelta(days=days),
        "freq": HOUR,
        "meter_type": MeterType.ELECTRICITY,
        "max_gap_hours": 6,
        "min_days": 1,
    }
    options.update(kwargs)
    return prepare(frame, **options)  # type: ignore[arg-type]


def test_short_gaps_are_interpolated_and_long_ones_stay_missing() -> None:
    frame = _meter(30)
    short = frame.index[100:104]
    long = frame.index[300:320]
    frame = frame.drop(index=short.append(long))
    series = _prepare(frame, 30)
    result = series.frame  # type: ignore[attr-defined]
    assert len(result) == 30 * 24
    assert result.loc[short, "consumption"].notna().all()
    assert not result.loc[short, "valid"].any()
    assert result.loc[long, "consumption"].isna().all()
    assert series.report.interpolated == 4  # type: ignore[attr-defined]


def test_water_negatives_are_dropped_and_electricity_negatives_kept() -> None:
    frame = _meter(20)
    frame.iloc[50, 0] = -0.4
    water = _prepare(frame, 20, meter_type=MeterType.WATER)
    electricity = _prepare(frame, 20)
    assert water.report.negatives_dropped == 1  # type: ignore[attr-defined]
    assert not water.frame["valid"].iloc[50]  # type: ignore[attr-defined]
    assert electricity.frame["valid"].iloc[50]  # type: ignore[attr-defined]
    assert electricity.frame["consumption"].iloc[50] == -0.4  # type: ignore[attr-defined]


def test_spikes_and_dropouts_are_removed_but_daily_peaks_kept() -> None:
    frame = _meter(40)
    values = frame["consumption"].to_numpy().copy()
    values[200] = 25.0  # a spike
    values[400:403] = 0.0  # a dropout
    flagged = find_outliers(values, 24)
    assert flagged[200]
    assert flagged[400:403].all()
    assert flagged.sum() == 4


def test_too_little_data_gives_both_numbers() -> None:
    frame = _meter(10)
    with pytest.raises(DataInsufficientError, match=r"have 10\.0 days .* need 14"):
        _prepare(frame, 10, min_days=14)


def test_no_data_at_all_is_no_data() -> None:
    empty = pd.DataFrame({"consumption": pd.Series(dtype=float)})
    with pytest.raises(NoDataError):
        _prepare(empty, 10)


def test_off_grid_and_out_of_range_points_are_dropped() -> None:
    frame = _meter(20)
    extra = pd.DataFrame(
        {"consumption": [9.0, 9.0], "temperature": [1.0, 1.0]},
        index=pd.DatetimeIndex([START - HOUR, START + pd.Timedelta(minutes=30)], name="time"),
    )
    series = _prepare(pd.concat([frame, extra]).sort_index(), 20)
    assert len(series.frame) == 20 * 24  # type: ignore[attr-defined]
    assert series.frame.index[0] == START  # type: ignore[attr-defined]
