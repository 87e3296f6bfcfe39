"""Features of the seasonal-residual model: seasonal anchors, recent level, calendar, weather.

Day-ahead forecasting (docs/design.md §6): forecasts are issued at *origins* every `horizon` steps,
aligned to midnight UTC; a target `k` steps after the last known point (k = 1..horizon) may use
only points up to that last one. Every feature below respects that, so the training samples,
the holdout forecasts and the naive baselines see exactly the same information.

Per target time t (k steps after the last known point L = t - k):

- **anchors** (the blend the model starts from): y one day back as far as known
  (``t - 24h*ceil(k/24h)``: y(t-24h) day-ahead), one and two weeks back, exponentially
  smoothed profiles of the same time of day (over days) and of the same time of week (over
  weeks), both profiles re-levelled to the last known day (scaled by its actual/profile
  mean ratio; shifted where the means are near zero or negative), and both profiles plus their
  recent error (exponentially weighted, half-life 6 h): the level the meter is at right now.
- **recent level**: the mean of the last day before the origin and its change against the same
  day a week earlier, the mean over the lookback window and its weekly change, the deviation of
  the last known point from its weekly profile: level shifts and weather spells persist.
- **calendar** in the meters' local time zone: time of day and of year (harmonics), weekday,
  public holidays of the target day and of the anchors' days.
- **temperature** when present: at t (the stand-in for a day-ahead weather forecast), its change
  against the anchors' times, and its mean over the last day.
- **horizon**: k / horizon.

Values are divided by one scale per meter (the mean absolute value of the training part), so
one network shape fits a flat's kWh and a region's MWh. Points missing in long gaps are filled
for the features only, causally: from the same time a week, then a day earlier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd

from wattcast.crd import ModelSpec
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
# Training days needed before the time-of-year harmonics are used.
_MIN_ANNUAL_DAYS = 300
_DAILY_ALPHA = 0.25
_WEEKLY_ALPHA = 0.35


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (Meeus/Jones/Butcher)."""
    golden = year % 19
    century, year_in_century = divmod(year, 100)
    leap_centuries, century_rest = divmod(century, 4)
    moon_correction = (century - (century + 8) // 25 + 1) // 3
    epact = (19 * golden + century - leap_centuries - moon_correction + 15) % 30
    year_quarters, year_rest = divmod(year_in_century, 4)
    weekday = (32 + 2 * century_rest + 2 * year_quarters - epact - year_rest) % 7
    offset = (golden + 11 * epact + 22 * weekday) // 451
    month, day = divmod(epact + weekday - 7 * offset + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def german_holidays(year: int) -> frozenset[date]:
    """Germany's nationwide public holidays of one year (Easter-based ones included)."""
    sunday = easter_sunday(year)
    fixed = {date(year, 1, 1), date(year, 5, 1), date(year, 10, 3)}
    fixed |= {date(year, 12, 25), date(year, 12, 26)}
    moving = {sunday + timedelta(days=n) for n in (-2, 1, 39, 50)}
    return frozenset(fixed | moving)


def holiday_flags(days: npt.NDArray[np.datetime64], calendar: str) -> FloatArray:
    """1.0 for days (datetime64[D]) that are public holidays in `calendar` ("DE" or "none")."""
    if calendar == "none" or len(days) == 0:
        return np.zeros(len(days))
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    holidays = sorted(
        d for y in range(int(years.min()), int(years.max()) + 1) for d in german_holidays(y)
    )
    return np.isin(days, np.array(holidays, dtype="datetime64[D]")).astype(np.float64)


@dataclass(frozen=True)
class Calendar:
    """Local calendar of a DatetimeIndex."""

    hour: FloatArray  # fractional local clock hour
    weekday: IntArray  # Monday = 0
    day_of_year: FloatArray
    days: npt.NDArray[np.datetime64]  # local calendar day


def local_calendar(index: pd.DatetimeIndex, timezone: str) -> Calendar:
    wall = index.tz_convert(timezone).tz_localize(None).to_numpy(dtype="datetime64[ns]")
    days = wall.astype("datetime64[D]")
    hour = (wall - days).astype(np.int64) / 3.6e12
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
    day_of_year = (days - year_start).astype(np.float64) + hour / 24.0
    return Calendar(hour=hour, weekday=weekday, day_of_year=day_of_year, days=days)


def _seasonal_fill(values: FloatArray, week: int, day: int) -> FloatArray:
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


def _periodic_ewm(values: FloatArray, period: int, alpha: float) -> FloatArray:
    """EWMA of each phase over periods: out[j] = a*x[j] + (1-a)*out[j-period]; vectorised."""
    n = len(values)
    rows = math.ceil(n / period)
    padded = np.full(rows * period, np.nan)
    padded[:n] = values
    smoothed = pd.DataFrame(padded.reshape(rows, period)).ewm(alpha=alpha, adjust=True).mean()
    result: FloatArray = smoothed.to_numpy(dtype=np.float64).reshape(-1)[:n]
    return result


def _relevel(profile: FloatArray, actual: FloatArray, predicted: FloatArray) -> FloatArray:
    """The profile scaled by actual/predicted mean of the last known day (level shifts scale
    the whole daily curve), bounded to [0.5, 2]; additive where the means are near zero or
    negative (solar export), where a ratio means nothing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.clip(actual / predicted, 0.5, 2.0)
    usable = (predicted > 0.2) & (actual > 0.2) & np.isfinite(ratio)
    return np.where(usable, profile * ratio, profile + (actual - predicted))


def _ewm(values: FloatArray, half_life: float) -> FloatArray:
    """Causal exponentially weighted mean (NaN-tolerant)."""
    result: FloatArray = (
        pd.Series(values).ewm(halflife=half_life, ignore_na=True).mean().to_numpy(np.float64)
    )
    return result


def _lagged(values: FloatArray, lag: int) -> FloatArray:
    out = np.full(len(values), np.nan)
    out[lag:] = values[:-lag]
    return out


def _rolling_mean(values: FloatArray, window: int) -> FloatArray:
    """Trailing mean over `window` points (NaN where the window is incomplete)."""
    result: FloatArray = (
        pd.Series(values).rolling(window, min_periods=window).mean().to_numpy(dtype=np.float64)
    )
    return result


@dataclass(frozen=True)
class FeatureSet:
    """Samples for every target position from the warm-up on (rows align across arrays)."""

    features: npt.NDArray[np.float32]  # every input, anchors included
    anchors: npt.NDArray[np.float32]  # the seasonal anchors (columns ANCHORS)
    target: FloatArray  # y / scale; NaN where the point is not valid
    positions: IntArray  # index into the prepared frame
    times: pd.DatetimeIndex
    horizon_step: IntArray  # k = 1..horizon
    scale: float
    feature_names: tuple[str, ...]
    window: npt.NDArray[np.float32] | None = None  # (rows, lookback) for sequence models


@dataclass(frozen=True)
class FeatureConfig:
    steps_per_day: int
    horizon: int  # steps
    lookback: int  # steps
    timezone: str
    holidays: str
    use_temperature: bool

    @property
    def week(self) -> int:
        return 7 * self.steps_per_day

    @property
    def warmup(self) -> int:
        """First target position with every feature defined."""
        longest_anchor = self.week * math.ceil(self.horizon / self.week) + self.week
        recent = self.horizon + self.week + max(self.lookback, self.steps_per_day)
        return max(longest_anchor, recent)

    @classmethod
    def from_spec(
        cls, spec: ModelSpec, steps_per_day: int, *, timezone: str, holidays: str
    ) -> FeatureConfig:
        per_hour = steps_per_day / 24
        return cls(
            steps_per_day=steps_per_day,
            horizon=max(1, round(spec.horizon_hours * per_hour)),
            lookback=max(1, round(spec.lookback_hours * per_hour)),
            timezone=timezone,
            holidays=holidays,
            use_temperature=spec.use_temperature,
        )


@dataclass(frozen=True)
class Scaling:
    """What the features freeze from the training part: a model's inputs are rebuilt with
    these values at every forecast (the model store keeps them in metadata.json)."""

    scale: float
    temperature_mean: float | None  # None: no temperature features
    temperature_std: float | None
    annual: bool


def training_scaling(series: PreparedSeries, config: FeatureConfig, scale_until: int) -> Scaling:
    """The scale (mean |y| of the valid training points), the temperature standardisation and
    the time-of-year switch, from the points before `scale_until` (the holdout's start)."""
    frame = series.frame
    y = frame["consumption"].to_numpy(dtype=np.float64)
    valid = frame["valid"].to_numpy(dtype=bool)
    train_values = y[:scale_until][valid[:scale_until]]
    scale = float(np.mean(np.abs(train_values))) if len(train_values) else 1.0
    if not math.isfinite(scale) or scale <= 0:
        scale = 1.0
    mean: float | None = None
    std: float | None = None
    if config.use_temperature and series.has_temperature:
        reference = frame["temperature"].to_numpy(dtype=np.float64)[:scale_until]
        mean, std = float(np.mean(reference)), float(np.std(reference)) or 1.0
    # Time of year only means something when training covers most of a year: over a few weeks
    # the harmonics are a trend, standardised to huge values, that the holdout then leaves.
    annual = (scale_until - config.warmup) >= _MIN_ANNUAL_DAYS * config.steps_per_day
    return Scaling(scale=scale, temperature_mean=mean, temperature_std=std, annual=annual)


def build_features(
    series: PreparedSeries,
    config: FeatureConfig,
    *,
    scale_until: int | None = None,
    scaling: Scaling | None = None,
    with_window: bool = False,
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
    z = _seasonal_fill(y, week, day) / scale
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

    profile_d = _periodic_ewm(z, day, _DAILY_ALPHA)
    profile_w = _periodic_ewm(z, week, _WEEKLY_ALPHA)
    mean_day = _rolling_mean(z, day)
    # Level shifts (a new tenant, a broken appliance) make smoothed profiles stale for weeks.
    # The re-levelled profiles are rescaled to the last known day, so they follow a shift
    # after one day.
    releveled_d = _relevel(
        profile_d[positions - lag_d],
        mean_day[last],
        _rolling_mean(_lagged(profile_d, day), day)[last],
    )
    releveled_w = _relevel(
        profile_w[positions - lag_w],
        mean_day[last],
        _rolling_mean(_lagged(profile_w, week), day)[last],
    )
    # The tracked profiles add the profiles' recent forecast error (exponentially weighted,
    # half-life of hours): the level a weather spell or a shift puts the meter at right now,
    # which MSTL's smoothed trend also follows.
    half_life = _TRACKING_HALF_LIFE_HOURS * day / 24
    tracked_d = _ewm(z - _lagged(profile_d, day), half_life)
    tracked_w = _ewm(z - _lagged(profile_w, week), half_life)
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

    mean_back = _rolling_mean(z, config.lookback)
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
        temp_day = _rolling_mean(tz, day)
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
    if with_window:
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
        window=window,
    )
