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
)
# Half-life, in hours, of the tracked profile error: short enough to follow a weather spell
# within the day, long enough to average out an hour's noise.
_TRACKING_HALF_LIFE_HOURS = 6.0
_DAILY_ALPHA = 0.25
_WEEKLY_ALPHA = 0.35


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


def build_features(
    series: PreparedSeries,
    config: FeatureConfig,
    *,
    scale_until: int | None = None,
    scaling: Scaling | None = None,
    origin: int | None = None,
    steps: int | None = None,
) -> FeatureSet:
    """Samples for every position from `config.warmup` to the end of `series`, or, with
    `origin`, for the `steps` positions from `origin` on (a forecast issued at `origin`:
    target k = 1..steps uses the points before `origin` only).

    The scale, temperature standardisation and time-of-year switch come from `scaling`, or,
    without it, from the points before `scale_until` (the first holdout position).
    """
    frame = series.frame
    n = len(frame)
    day, week, horizon = config.steps_per_day, config.week, config.horizon
    y = frame["consumption"].to_numpy(dtype=np.float64)
    valid = frame["valid"].to_numpy(dtype=bool)

    if scaling is None:
        if scale_until is None:
            raise ValueError("build_features needs scale_until or scaling")
        scaling = training_scaling(series, config, scale_until)
    scale = scaling.scale
    z = seasonal_fill(y, week, day) / scale
    target = np.where(valid, y / scale, np.nan)

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
    times = frame.index[positions]
    last = positions - k
    lag_d = day * np.ceil(k / day).astype(np.int64)
    lag_w = week * np.ceil(k / week).astype(np.int64)

    profile_d = periodic_ewm(z, day, _DAILY_ALPHA)
    profile_w = periodic_ewm(z, week, _WEEKLY_ALPHA)
    mean_day = rolling_mean(z, day)
    # Level shifts (a new tenant, a broken appliance) make smoothed profiles stale for weeks.
    # The re-levelled profiles are rescaled to the last known day, so they follow a shift
    # after one day.
    releveled_d = relevel(
        profile_d[positions - lag_d],
        mean_day[last],
        rolling_mean(lagged(profile_d, day), day)[last],
    )
    releveled_w = relevel(
        profile_w[positions - lag_w],
        mean_day[last],
        rolling_mean(lagged(profile_w, week), day)[last],
    )
    # The tracked profiles add the profiles' recent forecast error (exponentially weighted,
    # half-life of hours): the level a weather spell or a shift puts the meter at right now,
    # which MSTL's smoothed trend also follows.
    half_life = _TRACKING_HALF_LIFE_HOURS * day / 24
    tracked_d = ewm(z - lagged(profile_d, day), half_life)
    tracked_w = ewm(z - lagged(profile_w, week), half_life)
    anchors = np.column_stack(
        [
            z[positions - lag_d],
            z[positions - lag_w],
            z[positions - lag_w - week],
            profile_d[positions - lag_d],
            profile_w[positions - lag_w],
            releveled_d,
            releveled_w,
            profile_d[positions - lag_d] + tracked_d[last],
            profile_w[positions - lag_w] + tracked_w[last],
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
    names: list[str] = [
        *ANCHORS,
        "meanLastDay",
        "meanLastDayWeekChange",
        "meanLookback",
        "meanLookbackWeekChange",
        "lastVsWeekProfile",
        "lastDayChange",
    ]

    cal = local_calendar(times, config.timezone)
    hour_angle = 2 * np.pi * cal.hour / 24.0
    year_angle = 2 * np.pi * cal.day_of_year / 365.25
    annual = 1.0 if scaling.annual else 0.0
    weekday = np.eye(7)[cal.weekday]
    anchor_days_d = local_calendar(frame.index[positions - lag_d], config.timezone).days
    anchor_days_w = local_calendar(frame.index[positions - lag_w], config.timezone).days
    calendar = np.column_stack(
        [
            np.sin(hour_angle),
            np.cos(hour_angle),
            np.sin(2 * hour_angle),
            np.cos(2 * hour_angle),
            np.sin(3 * hour_angle),
            np.cos(3 * hour_angle),
            annual * np.sin(year_angle),
            annual * np.cos(year_angle),
            weekday,
            holiday_flags(cal.days, config.holidays),
            holiday_flags(anchor_days_d, config.holidays),
            holiday_flags(anchor_days_w, config.holidays),
        ]
    )
    names += [
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
    ]

    blocks = [anchors, recent, calendar]
    if scaling.temperature_mean is not None:
        if not series.has_temperature:
            raise ValueError("the model takes temperature features but the series has none")
        temperature = frame["temperature"].to_numpy(dtype=np.float64)
        tz = (temperature - scaling.temperature_mean) / (scaling.temperature_std or 1.0)
        temp_day = rolling_mean(tz, day)
        blocks.append(
            np.column_stack(
                [
                    tz[positions],
                    tz[positions] - tz[positions - lag_d],
                    tz[positions] - tz[positions - lag_w],
                    temp_day[last],
                    # Heating and cooling act on either side of a comfort band: give the
                    # network both halves explicitly, it learns their slopes.
                    np.maximum(-tz[positions], 0.0),
                    np.maximum(tz[positions], 0.0),
                ]
            )
        )
        names += [
            "temperature",
            "temperatureVsLagDay",
            "temperatureVsLagWeek",
            "temperatureLastDay",
            "temperatureBelowMean",
            "temperatureAboveMean",
        ]
    blocks.append((k / horizon)[:, None])
    names.append("horizon")

    features = np.column_stack(blocks).astype(np.float32)
    window = None
    if config.with_window:
        offsets = np.arange(-config.lookback + 1, 1)
        window = z[last[:, None] + offsets[None, :]].astype(np.float32)
    return FeatureSet(
        features=features,
        anchors=anchors.astype(np.float32),
        target=target[positions],
        positions=positions,
        times=times,
        horizon_step=k,
        scale=scale,
        feature_names=tuple(names),
        consumption=y,
        window=window,
    )
