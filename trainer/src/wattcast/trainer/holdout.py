"""The holdout: where it starts, the forecasts made on it, and what they give besides scores.

One fit, one holdout: the last `holdoutDays` of the range (from the first forecast origin in
them) are never trained on. The holdout forecasts are made by the one forecasting path
(wattcast.forecasting.predicting) at each holdout origin, from the raw points before that
origin only: exactly what serving the saved model at that origin answers. Their residuals
per horizon step give the prediction interval; the last two weeks of them are what the
dashboard plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from wattcast.crd import MeterType
from wattcast.crd.modelstore import PredictionInterval
from wattcast.crd.times import rfc3339
from wattcast.forecasting.errors import DataInsufficientError
from wattcast.forecasting.predicting import Predictor, forecast_frame
from wattcast.forecasting.preparation import PreparedSeries

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# The dashboard's holdout series: the last two weeks of the holdout at the model's resolution
# (docs/design.md §6; 336 points hourly, 672 half-hourly).
SERIES_DAYS = 14
# The prediction interval: the central 90 % of the holdout residuals at each horizon step,
# pooled with neighbouring steps until at least this many residuals are behind each bound.
INTERVAL_LEVEL = 0.9
MIN_INTERVAL_RESIDUALS = 30


def holdout_start(series: PreparedSeries, holdout_days: int, horizon_steps: int) -> int:
    """Position of the first holdout point: `holdout_days` before the end, moved forward to
    the next forecast origin (origins every `horizon_steps`, aligned to midnight UTC)."""
    n = len(series.frame)
    first = max(0, n - holdout_days * series.steps_per_day)
    epoch_steps = series.frame.index.asi8 // series.freq.value
    offset = int((-epoch_steps[first]) % horizon_steps) if first < n else 0
    return min(n, first + offset)


@dataclass(frozen=True)
class HoldoutForecasts:
    """The forecasting path's forecasts over the holdout, for scoring and the promotion gate."""

    positions: IntArray  # into the prepared series
    forecast: FloatArray
    horizon_step: IntArray  # k = 1..horizon


def raw_of(series: PreparedSeries) -> pd.DataFrame:
    """The cleaned series as if InfluxDB had returned it (where no raw frame is at hand)."""
    frame = series.frame
    raw = pd.DataFrame(
        {"consumption": frame["consumption"].where(frame["valid"])}, index=frame.index
    )
    if series.has_temperature:
        raw["temperature"] = frame["temperature"]
    return raw


def holdout_forecasts(
    predictor: Predictor, raw: pd.DataFrame, series: PreparedSeries, split: int
) -> HoldoutForecasts:
    """The forecasting path at every holdout origin (every horizon from `split`), not strict:
    a gap before an origin is filled seasonally, as in training."""
    horizon = predictor.features.horizon_steps
    n = len(series.frame)
    positions: list[IntArray] = []
    values: list[FloatArray] = []
    steps_out: list[IntArray] = []
    for origin in range(split, n, horizon):
        steps = min(horizon, n - origin)
        _, point, _, _ = forecast_frame(
            predictor, raw, series.frame.index[origin], steps, strict=False
        )
        positions.append(np.arange(origin, origin + steps, dtype=np.int64))
        values.append(point)
        steps_out.append(np.arange(1, steps + 1, dtype=np.int64))
    if not positions:
        raise DataInsufficientError("the holdout is empty: the range is too short")
    return HoldoutForecasts(
        positions=np.concatenate(positions),
        forecast=np.concatenate(values),
        horizon_step=np.concatenate(steps_out),
    )


def prediction_interval(residuals: FloatArray, steps: IntArray, horizon: int) -> PredictionInterval:
    """Per horizon step k, the (1-level)/2 and (1+level)/2 quantiles of actual - forecast at k,
    pooled with steps k±1, k±2, ... until MIN_INTERVAL_RESIDUALS are in (or all are)."""
    tail = (1 - INTERVAL_LEVEL) / 2
    lower: list[float] = []
    upper: list[float] = []
    for k in range(1, horizon + 1):
        width = 0
        while True:
            chosen = residuals[np.abs(steps - k) <= width]
            if len(chosen) >= MIN_INTERVAL_RESIDUALS or width >= horizon:
                break
            width += 1
        if len(chosen) == 0:
            lower.append(0.0)
            upper.append(0.0)
            continue
        lower.append(float(np.quantile(chosen, tail)))
        upper.append(float(np.quantile(chosen, 1 - tail)))
    return PredictionInterval(
        level=INTERVAL_LEVEL, lower=lower, upper=upper, residuals=len(residuals)
    )


def non_negative(series: PreparedSeries, meter_type: MeterType, split: int) -> bool:
    """Water cannot run backwards; an electricity meter without any negative training value
    (no solar export) is not forecast below zero either."""
    if meter_type == MeterType.WATER:
        return True
    frame = series.frame.iloc[:split]
    values = frame["consumption"].to_numpy(dtype=np.float64)[frame["valid"].to_numpy(bool)]
    return bool(len(values) == 0 or values.min() >= 0)


def plotted_series(
    series: PreparedSeries, positions: IntArray, forecasts: dict[str, FloatArray]
) -> dict[str, list[Any]]:
    """metadata.json's `holdoutSeries`: the last SERIES_DAYS days of the holdout at the
    series' resolution, the actual (None where not valid) and each forecast, rounded."""
    most = SERIES_DAYS * series.steps_per_day
    tail = slice(max(0, len(positions) - most), len(positions))

    def rounded(values: FloatArray) -> list[float | None]:
        return [None if not math.isfinite(v) else round(float(v), 6) for v in values[tail]]

    frame = series.frame
    actual = frame["consumption"].to_numpy(dtype=np.float64)[positions]
    valid = frame["valid"].to_numpy(dtype=bool)[positions]
    times = pd.DatetimeIndex(frame.index[positions][tail])
    return {
        "timestamps": [rfc3339(t) for t in times],
        "actual": rounded(np.where(valid, actual, np.nan)),
        **{name: rounded(values) for name, values in forecasts.items()},
    }
