"""A long run of exact zeros is an outage, missing data; short ones are real (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wattcast.crd import MeterType
from wattcast.forecasting.preparation import DEFAULT_MAX_ZERO_HOURS, PreparedSeries, prepare
from wattcast.trainer.settings import TrainerSettings

START = pd.Timestamp("2024-01-01T00:00:00Z")


def _household(days: int) -> np.ndarray:
    hours = np.arange(days * 24)
    return 0.4 + 0.3 * np.sin(2 * np.pi * hours / 24) ** 2


def _prepare(
    values: np.ndarray,
    *,
    meter_type: MeterType = MeterType.ELECTRICITY,
    max_zero_hours: float | None = DEFAULT_MAX_ZERO_HOURS,
) -> PreparedSeries:
    index = pd.date_range(START, periods=len(values), freq="1h", name="time")
    return prepare(
        pd.DataFrame({"consumption": values}, index=index),
        start=START,
        end=index[-1] + pd.Timedelta(hours=1),
        freq=pd.Timedelta(hours=1),
        meter_type=meter_type,
        max_gap_hours=6,
        min_days=1,
        max_zero_hours=max_zero_hours,
    )


def test_a_three_week_outage_of_zeros_is_missing_data_not_consumption() -> None:
    values = _household(70)
    outage = slice(40 * 24, 61 * 24)  # three weeks of zeros, 5 % of the points
    values[outage] = 0.0
    series = _prepare(values)
    valid = series.frame["valid"].to_numpy()
    assert not valid[outage].any()
    assert valid[: 40 * 24].all() and valid[61 * 24 :].all()
    assert series.report.outage_zeros == 21 * 24
    # never interpolated into consumption either: it stays a long gap
    assert np.isnan(series.frame["consumption"].to_numpy()[outage]).all()


def test_zero_runs_up_to_the_limit_are_kept() -> None:
    # A water meter is at zero every night for 8 h, and for a whole day now and then.
    hours = np.arange(30 * 24)
    values = np.where(hours % 24 < 8, 0.0, 2.0 + (hours % 24) / 10)
    values[10 * 24 : 11 * 24 + 8] = 0.0  # 32 h with the nights either side: over 24 h
    values[20 * 24 + 8 : 21 * 24] = 0.0  # with the night before it: 24 h of zeros
    values[21 * 24 : 21 * 24 + 8] = 1.0  # a busy night after it
    series = _prepare(values, meter_type=MeterType.WATER)
    valid = series.frame["valid"].to_numpy()
    assert not valid[10 * 24 : 11 * 24 + 8].any()  # 32 h: an outage
    assert valid[20 * 24 : 21 * 24].all()  # exactly 24 h: not longer than the limit
    nights = (hours % 24 < 8) & (hours < 10 * 24)
    assert valid[nights].all()


def test_the_limit_is_tunable_and_zero_turns_the_rule_off() -> None:
    values = _household(40)
    values[20 * 24 : 20 * 24 + 30] = 0.0  # 30 h of zeros
    assert _prepare(values, max_zero_hours=24).report.outage_zeros == 30
    longer = _prepare(values, max_zero_hours=48)
    shorter = _prepare(values, max_zero_hours=12)
    off = _prepare(values, max_zero_hours=0)
    assert longer.report.outage_zeros == 0 and off.report.outage_zeros == 0
    assert shorter.report.outage_zeros == 30


def test_the_trainer_reads_the_limit_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert TrainerSettings().max_zero_hours == DEFAULT_MAX_ZERO_HOURS
    monkeypatch.setenv("WATTCAST_MAX_ZERO_HOURS", "72")
    assert TrainerSettings().max_zero_hours == 72
    monkeypatch.setenv("WATTCAST_MAX_ZERO_HOURS", "-1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        TrainerSettings()
