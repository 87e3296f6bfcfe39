"""Building the features: a FeatureSet for every target of a prepared series, or for one origin.

What each feature is, and the day-ahead rule they all keep, is in
:mod:`wattcast.forecasting.features`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from wattcast.forecasting.features.calendar import holiday_flags, local_calendar
from wattcast.forecasting.features.configuration import FeatureConfig, Scaling, training_scaling
from wattcast.forecasting.features.smoothing import (
    double_seasonal,
    ewm,
    lagged,
    periodic_ewm,
    relevel,
    rolling_mean,
    seasonal_fill,
)
from wattcast.forecasting.preparation import PreparedSeries

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ANCHORS = (
    "lagDay",
    "lagWeek",
    "lagTwoWeeks",
    "profileDay",
    "profileWeek",
    "profileDayReleveled",
    "profileWeekReleveled",
    "profileDayTracked",
    "profileWeekTracked",
    "doubleSeasonal",
    "doubleSeasonalLastPoint",
    "doubleSeasonalSmoothTrend",
)
# Half-life, in hours, of the tracked profile error: short enough to follow a weather spell
# within the day, long enough to average out an hour's noise.
_TRACKING_HALF_LIFE_HOURS = 6.0
_DAILY_ALPHA = 0.25
_WEEKLY_ALPHA = 0.35
# The double-seasonal smoothing anchor: level half-life half a day, the daily pattern updated
# by 0.2 a day, the weekly one by 0.3 a week (measured on national demand, where it alone is
# within 8 % of MSTL, and on the synthetic meters; docs/trainer.md).
_LEVEL_HALF_LIFE_DAYS = 0.5
_DOUBLE_DAILY = 0.2
_DOUBLE_WEEKLY = 0.3
# The smooth-trend anchor's patterns are deviations from a level with a half-life of two days,
# as MSTL's are from a smooth trend: the half-day level takes part of each day's shape into
# itself. Measured on national demand and the regional meter, three 14-day holdouts each
# (docs/trainer.md): 1 day or more was better than half a day on five of the six, with a plateau
# from 2 days on.
_TREND_HALF_LIFE_DAYS = 2.0

RECENT = (
    "meanLastDay",
    "meanLastDayWeekChange",
    "meanLookback",
    "meanLookbackWeekChange",
    "lastVsWeekProfile",
    "lastDayChange",
)
CALENDAR = (
    "hourSin",
    "hourCos",
    "hour2Sin",
    "hour2Cos",
    "hour3Sin",
    "hour3Cos",
    "yearSin",
    "yearCos",
    *(f"weekday{d}" for d in range(7)),
    "holiday",
    "holidayLagDay",
    "holidayLagWeek",
)
TEMPERATURE = (
    "temperature",
    "temperatureVsLagDay",
    "temperatureVsLagWeek",
    "temperatureLastDay",
    "temperatureBelowMean",
    "temperatureAboveMean",
)


@dataclass(frozen=True)
class FeatureSet:
    """Samples for every target position from the warm-up on, or for the targets of one origin
    (rows align across the per-row arrays)."""

    features: npt.NDArray[np.float32]  # every input, anchors included
    anchors: npt.NDArray[np.float32]  # the seasonal anchors (columns ANCHORS)
    target: FloatArray  # y / scale; NaN where the point is not valid
    positions: IntArray  # index into the prepared frame
    times: pd.DatetimeIndex
    horizon_step: IntArray  # k = 1..horizon
    scale: float
    feature_names: tuple[str, ...]
    # The prepared series' consumption, in the meter's units (NaN in long gaps): `positions`
    # index it, so forecasters that need no features (the seasonal-naive baselines) read it.
    consumption: FloatArray
    window: npt.NDArray[np.float32] | None = None  # (rows, lookback) for sequence models


@dataclass(frozen=True)
class _Targets:
    """The target positions and, for each, what it may look back to."""

    positions: IntArray
    k: IntArray  # steps after the last known point, 1..horizon
    last: IntArray  # the last known point
    lag_day: IntArray  # back to the same time of day, as far as known
    lag_week: IntArray  # back to the same time of week, as far as known
    times: pd.DatetimeIndex


def _targets(
    series: PreparedSeries, config: FeatureConfig, origin: int | None, steps: int | None
) -> _Targets:
    frame = series.frame
    n = len(frame)
    horizon = config.horizon
    if origin is None:
        positions = np.arange(config.warmup, n, dtype=np.int64)
        # Steps since the Unix epoch (a UTC midnight) fix the origins: every `horizon` steps.
        epoch_steps = (frame.index[positions].asi8 // series.freq.value).astype(np.int64)
        k = (epoch_steps % horizon) + 1
    else:
        count = steps if steps is not None else horizon
        if origin < config.warmup or not 1 <= count <= horizon or origin + count > n:
            raise ValueError(
                f"a forecast at position {origin} for {count} steps needs {config.warmup} "
                f"points before it, at most {horizon} steps and {count} rows after it"
            )
        positions = np.arange(origin, origin + count, dtype=np.int64)
        k = np.arange(1, count + 1, dtype=np.int64)
    day, week = config.steps_per_day, config.week
    return _Targets(
        positions=positions,
        k=k,
        last=positions - k,
        lag_day=day * np.ceil(k / day).astype(np.int64),
        lag_week=week * np.ceil(k / week).astype(np.int64),
        times=frame.index[positions],
    )


def _seasonal_blocks(
    z: FloatArray, t: _Targets, config: FeatureConfig
) -> tuple[FloatArray, FloatArray]:
    """The anchors (columns ANCHORS) and the recent level (columns RECENT) of the scaled,
    filled series `z`."""
    day, week = config.steps_per_day, config.week
    at_day, at_week, last = t.positions - t.lag_day, t.positions - t.lag_week, t.last
    profile_d = periodic_ewm(z, day, _DAILY_ALPHA)
    profile_w = periodic_ewm(z, week, _WEEKLY_ALPHA)
    mean_day = rolling_mean(z, day)
    # Level shifts (a new tenant, a broken appliance) make smoothed profiles stale for weeks.
    # The re-levelled profiles are rescaled to the last known day, so they follow a shift
    # after one day.
    releveled_d = relevel(
        profile_d[at_day], mean_day[last], rolling_mean(lagged(profile_d, day), day)[last]
    )
    releveled_w = relevel(
        profile_w[at_week], mean_day[last], rolling_mean(lagged(profile_w, week), day)[last]
    )
    # The tracked profiles add the profiles' recent forecast error (exponentially weighted,
    # half-life of hours): the level a weather spell or a shift puts the meter at right now,
    # which MSTL's smoothed trend also follows.
    half_life = _TRACKING_HALF_LIFE_HOURS * day / 24
    tracked_d = ewm(z - lagged(profile_d, day), half_life)
    tracked_w = ewm(z - lagged(profile_w, week), half_life)
    level_alpha = 1.0 - 0.5 ** (1.0 / (_LEVEL_HALF_LIFE_DAYS * day))
    level, daily_state, weekly_state = double_seasonal(
        z, day, week, level_alpha, _DOUBLE_DAILY, _DOUBLE_WEEKLY
    )
    trend_alpha = 1.0 - 0.5 ** (1.0 / (_TREND_HALF_LIFE_DAYS * day))
    _, trend_daily, trend_weekly = double_seasonal(
        z, day, week, trend_alpha, _DOUBLE_DAILY, _DOUBLE_WEEKLY
    )
    anchors = np.column_stack(
        [
            z[at_day],
            z[at_week],
            z[at_week - week],
            profile_d[at_day],
            profile_w[at_week],
            releveled_d,
            releveled_w,
            profile_d[at_day] + tracked_d[last],
            profile_w[at_week] + tracked_w[last],
            level[last] + daily_state[at_day] + weekly_state[at_week],
            # The same patterns on the last known point's level (that point less its own
            # patterns) instead of the smoothed level: MSTL's forecast, a level that moves
            # with every point, which aggregate demand follows (docs/trainer.md).
            _last_point_level(z, daily_state, weekly_state, t, day, week),
            # The same on patterns measured against a smooth trend (MSTL's decomposition).
            _last_point_level(z, trend_daily, trend_weekly, t, day, week),
        ]
    )
    mean_back = rolling_mean(z, config.lookback)
    recent = np.column_stack(
        [
            mean_day[last],
            mean_day[last] - mean_day[last - week],
            mean_back[last],
            mean_back[last] - mean_back[last - week],
            z[last] - profile_w[last - week],
            z[last] - z[last - day],
        ]
    )
    return anchors, recent


def _last_point_level(
    z: FloatArray, daily: FloatArray, weekly: FloatArray, t: _Targets, day: int, week: int
) -> FloatArray:
    """The last known point less its own daily and weekly pattern, plus the target's."""
    last = t.last
    result: FloatArray = (
        z[last]
        - daily[last - day]
        - weekly[last - week]
        + daily[t.positions - t.lag_day]
        + weekly[t.positions - t.lag_week]
    )
    return result


def _calendar_block(
    index: pd.DatetimeIndex, t: _Targets, config: FeatureConfig, annual: bool
) -> FloatArray:
    """The calendar of the targets in local time (columns CALENDAR)."""
    cal = local_calendar(t.times, config.timezone)
    hour_angle = 2 * np.pi * cal.hour / 24.0
    year_angle = 2 * np.pi * cal.day_of_year / 365.25
    on = 1.0 if annual else 0.0
    anchor_days_d = local_calendar(index[t.positions - t.lag_day], config.timezone).days
    anchor_days_w = local_calendar(index[t.positions - t.lag_week], config.timezone).days
    block: FloatArray = np.column_stack(
        [
            np.sin(hour_angle),
            np.cos(hour_angle),
            np.sin(2 * hour_angle),
            np.cos(2 * hour_angle),
            np.sin(3 * hour_angle),
            np.cos(3 * hour_angle),
            on * np.sin(year_angle),
            on * np.cos(year_angle),
            np.eye(7)[cal.weekday],
            holiday_flags(cal.days, config.holidays),
            holiday_flags(anchor_days_d, config.holidays),
            holiday_flags(anchor_days_w, config.holidays),
        ]
    )
    return block


def _temperature_block(
    series: PreparedSeries, t: _Targets, config: FeatureConfig, scaling: Scaling
) -> FloatArray:
    """The standardised temperature at and before the targets (columns TEMPERATURE)."""
    if not series.has_temperature:
        raise ValueError("the model takes temperature features but the series has none")
    temperature = series.frame["temperature"].to_numpy(dtype=np.float64)
    tz = (temperature - (scaling.temperature_mean or 0.0)) / (scaling.temperature_std or 1.0)
    at = tz[t.positions]
    block: FloatArray = np.column_stack(
        [
            at,
            at - tz[t.positions - t.lag_day],
            at - tz[t.positions - t.lag_week],
            rolling_mean(tz, config.steps_per_day)[t.last],
            # Heating and cooling act on either side of a comfort band: give the network both
            # halves explicitly, it learns their slopes.
            np.maximum(-at, 0.0),
            np.maximum(at, 0.0),
        ]
    )
    return block


def _select(
    matrix: FloatArray, anchors: FloatArray, built: list[str], wanted: tuple[str, ...]
) -> tuple[FloatArray, FloatArray, list[str]]:
    """The columns `wanted` of the features, and the anchors among them, in their order."""
    unknown = [name for name in wanted if name not in built]
    if unknown:
        raise ValueError(f"the model takes features this release does not build: {unknown}")
    columns = [built.index(name) for name in wanted]
    anchor_columns = [ANCHORS.index(name) for name in wanted if name in ANCHORS]
    return matrix[:, columns], anchors[:, anchor_columns], list(wanted)


def build_features(
    series: PreparedSeries,
    config: FeatureConfig,
    *,
    scale_until: int | None = None,
    scaling: Scaling | None = None,
    origin: int | None = None,
    steps: int | None = None,
    names: tuple[str, ...] | list[str] | None = None,
) -> FeatureSet:
    """Samples for every position from `config.warmup` to the end of `series`, or, with
    `origin`, for the `steps` positions from `origin` on (a forecast issued at `origin`:
    target k = 1..steps uses the points before `origin` only).

    The scale, temperature standardisation and time-of-year switch come from `scaling`, or,
    without it, from the points before `scale_until` (the first holdout position). `names`
    (a version's recorded feature names) keeps only those columns, in that order: a version
    trained before a feature was added gets exactly the inputs it was trained on.
    """
    if scaling is None:
        if scale_until is None:
            raise ValueError("build_features needs scale_until or scaling")
        scaling = training_scaling(series, config, scale_until)
    frame = series.frame
    y = frame["consumption"].to_numpy(dtype=np.float64)
    valid = frame["valid"].to_numpy(dtype=bool)
    scale = scaling.scale
    z = seasonal_fill(y, config.week, config.steps_per_day) / scale
    target = np.where(valid, y / scale, np.nan)

    t = _targets(series, config, origin, steps)
    anchors, recent = _seasonal_blocks(z, t, config)
    blocks = [anchors, recent, _calendar_block(frame.index, t, config, scaling.annual)]
    built_names = [*ANCHORS, *RECENT, *CALENDAR]
    if scaling.temperature_mean is not None:
        blocks.append(_temperature_block(series, t, config, scaling))
        built_names += TEMPERATURE
    blocks.append((t.k / config.horizon)[:, None])
    built_names.append("horizon")

    window = None
    if config.with_window:
        offsets = np.arange(-config.lookback + 1, 1)
        window = z[t.last[:, None] + offsets[None, :]].astype(np.float32)
    matrix = np.column_stack(blocks)
    if names is not None and tuple(names) != tuple(built_names):
        matrix, anchors, built_names = _select(matrix, anchors, built_names, tuple(names))
    return FeatureSet(
        features=matrix.astype(np.float32),
        anchors=anchors.astype(np.float32),
        target=target[t.positions],
        positions=t.positions,
        times=t.times,
        horizon_step=t.k,
        scale=scale,
        feature_names=tuple(built_names),
        consumption=y,
        window=window,
    )
