"""The causal series operations the anchors and level features are made of (numpy/pandas)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]


def seasonal_fill(values: FloatArray, week: int, day: int) -> FloatArray:
    """Fill NaN causally from a week, then a day earlier; what is left gets the median."""
    out = values.copy()
    for period in (week, day):
        for _ in range(8):
            missing = np.isnan(out)
            missing[:period] = False
            if not missing.any():
                break
            shifted = np.full_like(out, np.nan)
            shifted[period:] = out[:-period]
            out = np.where(missing, shifted, out)
    rest = np.isnan(out)
    if rest.any():
        out[rest] = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
    return out


def periodic_ewm(values: FloatArray, period: int, alpha: float) -> FloatArray:
    """EWMA of each phase over periods: out[j] = a*x[j] + (1-a)*out[j-period]; vectorised."""
    n = len(values)
    rows = math.ceil(n / period)
    padded = np.full(rows * period, np.nan)
    padded[:n] = values
    smoothed = pd.DataFrame(padded.reshape(rows, period)).ewm(alpha=alpha, adjust=True).mean()
    result: FloatArray = smoothed.to_numpy(dtype=np.float64).reshape(-1)[:n]
    return result


def relevel(profile: FloatArray, actual: FloatArray, predicted: FloatArray) -> FloatArray:
    """The profile scaled by actual/predicted mean of the last known day (level shifts scale
    the whole daily curve), bounded to [0.5, 2]; additive where the means are near zero or
    negative (solar export), where a ratio means nothing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.clip(actual / predicted, 0.5, 2.0)
    usable = (predicted > 0.2) & (actual > 0.2) & np.isfinite(ratio)
    return np.where(usable, profile * ratio, profile + (actual - predicted))


def ewm(values: FloatArray, half_life: float) -> FloatArray:
    """Causal exponentially weighted mean (NaN-tolerant)."""
    result: FloatArray = (
        pd.Series(values).ewm(halflife=half_life, ignore_na=True).mean().to_numpy(np.float64)
    )
    return result


def lagged(values: FloatArray, lag: int) -> FloatArray:
    """`values` shifted `lag` steps later (NaN before)."""
    out = np.full(len(values), np.nan)
    out[lag:] = values[:-lag]
    return out


def rolling_mean(values: FloatArray, window: int) -> FloatArray:
    """Trailing mean over `window` points (NaN where the window is incomplete)."""
    result: FloatArray = (
        pd.Series(values).rolling(window, min_periods=window).mean().to_numpy(dtype=np.float64)
    )
    return result


def double_seasonal(
    values: FloatArray, day: int, week: int, level_alpha: float, daily: float, weekly: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Additive double-seasonal exponential smoothing (Taylor 2003) of a complete series: the
    level, daily and weekly states after each point (causal: state t uses points up to t).

    A day-ahead forecast for t from the last known point L is level[L] + daily[t - day] +
    weekly[t - week]: the smoothed level at the origin plus the two seasonal patterns, the
    structure MSTL forecasts aggregate demand with. The level starts at the first week's
    mean, the weekly pattern at the first week's deviations from it, the daily one at zero.
    """
    n = len(values)
    level = np.empty(n)
    daily_out = np.empty(n)
    weekly_out = np.empty(n)
    if n == 0:
        return level, daily_out, weekly_out
    y = values.tolist()
    first = y[: min(n, week)]
    current = float(sum(first) / len(first))
    d_state = [0.0] * day
    w_state = [v - current for v in first] + [0.0] * (week - len(first))
    for t in range(n):
        i, j = t % day, t % week
        d_prev, w_prev, l_prev = d_state[i], w_state[j], current
        value = y[t]
        current = level_alpha * (value - d_prev - w_prev) + (1.0 - level_alpha) * l_prev
        d_new = daily * (value - l_prev - w_prev) + (1.0 - daily) * d_prev
        d_state[i] = d_new
        w_state[j] = weekly * (value - l_prev - d_new) + (1.0 - weekly) * w_prev
        level[t] = current
        daily_out[t] = d_new
        weekly_out[t] = w_state[j]
    return level, daily_out, weekly_out
