"""Holdout error of the model next to the seasonal-naive baselines (docs/design.md §6).

One fit, one holdout: the last `holdoutDays` of the range (from the first forecast origin
in them) are never trained on. Every forecast there is day-ahead (features end at the
origin), and the baselines are scored on exactly the same timestamps: naiveDaily predicts
y(t-24h), naiveWeekly y(t-168h), from the cleaned series. A timestamp counts only when the actual
is an observed, valid point and both baselines exist, so no method is scored on imputed values.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from wattcast.crd import ErrorMetrics
from wattcast.crd.times import rfc3339
from wattcast.forecasting.preparation import PreparedSeries

FloatArray = npt.NDArray[np.float64]


def error_metrics(actual: FloatArray, forecast: FloatArray) -> ErrorMetrics:
    """MAE, RMSE and sMAPE (0..200 %; a point where both are zero counts as no error)."""
    if len(actual) == 0:
        raise ValueError("no points to score")
    error = forecast - actual
    denominator = np.abs(actual) + np.abs(forecast)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denominator > 0, 2.0 * np.abs(error) / denominator, 0.0)
    return ErrorMetrics(
        mae=float(np.mean(np.abs(error))),
        rmse=float(math.sqrt(float(np.mean(error**2)))),
        smape=min(200.0, 100.0 * float(np.mean(ratio))),
    )


def holdout_start(series: PreparedSeries, holdout_days: int, horizon_steps: int) -> int:
    """Position of the first holdout point: `holdout_days` before the end, moved forward to
    the next forecast origin (origins every `horizon_steps`, aligned to midnight UTC)."""
    n = len(series.frame)
    first = max(0, n - holdout_days * series.steps_per_day)
    epoch_steps = series.frame.index.asi8 // series.freq.value
    offset = int((-epoch_steps[first]) % horizon_steps) if first < n else 0
    return min(n, first + offset)


def naive_forecasts(
    series: PreparedSeries, positions: npt.NDArray[np.int64]
) -> dict[str, FloatArray]:
    """naiveDaily y(t-24h) and naiveWeekly y(t-168h) at `positions` (NaN where unknown)."""
    y = series.frame["consumption"].to_numpy(dtype=np.float64)
    day = series.steps_per_day

    def lagged(lag: int) -> FloatArray:
        source = positions - lag
        out = np.full(len(positions), np.nan)
        ok = source >= 0
        out[ok] = y[source[ok]]
        return out

    return {"naiveDaily": lagged(day), "naiveWeekly": lagged(7 * day)}


def scored_mask(
    series: PreparedSeries, positions: npt.NDArray[np.int64], forecasts: dict[str, FloatArray]
) -> npt.NDArray[np.bool_]:
    """Positions where the actual is valid and every forecast exists."""
    valid = series.frame["valid"].to_numpy(dtype=bool)[positions]
    for values in forecasts.values():
        valid &= np.isfinite(values)
    return np.asarray(valid, dtype=bool)


def as_timestamps(index: pd.DatetimeIndex) -> list[str]:
    return [rfc3339(t) for t in index]
