"""The holdout's plotted series holds all its days at any resolution, and every valid holdout
point is scored, even after a long gap a week before it (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wattcast.crd import MeterType, ModelSpec
from wattcast.forecasting.baselines import seasonal_naive_baselines
from wattcast.forecasting.features.building import build_features
from wattcast.forecasting.features.configuration import FeatureConfig
from wattcast.forecasting.preparation import PreparedSeries, prepare
from wattcast.trainer.holdout import HoldoutForecasts, holdout_start, plotted_series
from wattcast.trainer.training import score_holdout

START = pd.Timestamp("2024-01-01T00:00:00Z")


def _series(values: np.ndarray, freq: pd.Timedelta) -> PreparedSeries:
    index = pd.date_range(START, periods=len(values), freq=freq, name="time")
    return prepare(
        pd.DataFrame({"consumption": values}, index=index),
        start=START,
        end=index[-1] + freq,
        freq=freq,
        meter_type=MeterType.ELECTRICITY,
        max_gap_hours=6,
        min_days=1,
    )


def test_a_half_hourly_holdout_series_holds_all_fourteen_days() -> None:
    per_day = 48
    values = 1.0 + np.sin(np.arange(40 * per_day) * 2 * np.pi / per_day) ** 2
    series = _series(values, pd.Timedelta(minutes=30))
    split = holdout_start(series, 14, per_day)
    positions = np.arange(split, len(series.frame), dtype=np.int64)
    plotted = plotted_series(series, positions, {"forecast": values[positions]})
    assert len(plotted["timestamps"]) == 14 * per_day == len(plotted["forecast"])
    assert plotted["timestamps"][0] == "2024-01-27T00:00:00Z"


def test_every_valid_holdout_point_is_scored_after_a_gap_a_week_before() -> None:
    hours = np.arange(50 * 24)
    values = 1.0 + (hours % 24) / 24 + 0.2 * (hours // 24 % 7 == 6)
    values[29 * 24 : 30 * 24] = np.nan  # a day's gap a week before the holdout's first day
    series = _series(values, pd.Timedelta(hours=1))
    config = FeatureConfig.from_spec(ModelSpec(), 24, timezone="Europe/Berlin", holidays="DE")
    split = holdout_start(series, 14, 24)
    assert series.frame.index[split] == pd.Timestamp("2024-02-06T00:00:00Z")
    features = build_features(series, config, scale_until=split)
    positions = np.arange(split, len(series.frame), dtype=np.int64)
    holdout = HoldoutForecasts(
        positions=positions,
        forecast=values[positions] + 0.1,
        horizon_step=(positions - split) % 24 + 1,
    )
    metrics, _, scored = score_holdout(
        series, features, holdout, dict(seasonal_naive_baselines(24))
    )
    valid = series.frame["valid"].to_numpy()[positions]
    assert valid.all() and scored.all()
    assert metrics.holdout.points == 14 * 24
