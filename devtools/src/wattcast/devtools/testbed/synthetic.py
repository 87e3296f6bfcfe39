"""Synthetic meters that are hard to forecast, reproducible from a seed.

Every later test, the trainer's model evaluation and the benchmarks draw their data from here,
so the series carry what real meters carry and what trips models up:

- daily and weekly seasonality in the meter's *local* time (so the daily shape moves by an hour
  in UTC at each daylight-saving switch), with separate weekday / Saturday / Sunday shapes;
- public holidays (German nationwide set, Easter-based ones included) that behave like Sundays;
- annual seasonality beyond the weather (lighting, holidays, school terms lumped together);
- a temperature series (annual cycle, daily cycle, persistent weather anomalies with
  heavy-tailed innovations, and fronts: sudden jumps that fade over days) that drives
  consumption through heating *and* cooling degrees of a lagged ("felt by the building")
  temperature, and is returned as a column;
- level shifts at random dates (a new appliance, a new tenant);
- persistent (AR(1)) and white multiplicative noise plus additive noise, and for the household
  and water profiles random appliance / tap events integrated exactly over each interval;
- gaps (runs of missing rows from a couple of hours to two days, plus isolated lost readings),
  outliers (spikes and runs of zero readings), and optionally negative values from solar
  export for electricity meters.

Values are energy (or volume) per interval: the model computes a mean power and multiplies it by
the interval length, so hourly and minute series of one meter agree in scale. Everything is
vectorised numpy; only the hourly AR(1) recursions loop in Python (8,760 steps a year), so a
year of minute data (525,600 rows) takes well under a second.

Reproducibility: each random component draws from its own child of
``numpy.random.SeedSequence((seed, crc32(profile)))``, so switching gaps or outliers off leaves
every other component (and thus the truth) unchanged, and two profiles with one seed differ.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "PROFILES",
    "Bump",
    "ClimateSpec",
    "DayShape",
    "MeterSpec",
    "SyntheticMeter",
    "clean_meter",
    "generate_meter",
    "get_profile",
    "profile_names",
    "public_holidays",
    "simulate_meter",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MeterType = Literal["electricity", "water"]

#: Upper bound on generated rows: keeps a typo such as ``freq="1s"`` over ten years from eating
#: the machine's memory. A meter-year of minutes (525,600 rows) is far below it.
MAX_POINTS = 20_000_000

_HOUR = pd.Timedelta(hours=1)
_DAY_TYPES = 3  # 0 weekday, 1 Saturday, 2 Sunday or public holiday


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bump(_Frozen):
    """A Gaussian bump of the daily profile, in local clock hours (wraps around midnight)."""

    hour: float = Field(ge=0.0, lt=24.0, description="Local clock hour of the bump's centre.")
    width: float = Field(gt=0.0, le=12.0, description="Standard deviation in hours.")
    height: float = Field(ge=0.0, le=50.0, description="Peak, as a multiple of the base power.")


class DayShape(_Frozen):
    """Relative power over one local day: ``floor`` plus a sum of bumps (1.0 = base power)."""

    floor: float = Field(ge=0.0, le=10.0, description="Level outside the bumps.")
    bumps: tuple[Bump, ...] = Field(default=(), max_length=12, description="Daily peaks.")


class ClimateSpec(_Frozen):
    """The outdoor temperature of a meter's site (defaults: central Europe)."""

    mean_celsius: float = Field(default=10.0, ge=-30.0, le=40.0, description="Annual mean.")
    annual_amplitude: float = Field(default=9.5, ge=0.0, le=30.0, description="Half range, K.")
    coldest_day_of_year: int = Field(default=18, ge=1, le=366, description="Trough of the year.")
    daily_amplitude: float = Field(default=4.0, ge=0.0, le=15.0, description="Half range, K.")
    warmest_hour_utc: float = Field(default=14.0, ge=0.0, lt=24.0, description="Daily peak.")
    weather_sigma: float = Field(default=2.5, ge=0.0, le=15.0, description="Anomaly std, K.")
    weather_hours: float = Field(
        default=60.0, gt=1.0, le=1000.0, description="Correlation time of weather anomalies."
    )
    innovation_tail: float = Field(
        default=5.0,
        gt=2.0,
        le=100.0,
        description="Student-t degrees of freedom of the anomaly innovations (heavy tails).",
    )
    fronts_per_month: float = Field(
        default=6.0, ge=0.0, le=60.0, description="Weather fronts: sudden temperature jumps."
    )
    front_kelvin: float = Field(default=4.0, ge=0.0, le=20.0, description="Std of a front's jump.")
    front_decay_hours: float = Field(
        default=72.0, gt=1.0, le=1000.0, description="How long a front's jump takes to fade."
    )


class MeterSpec(_Frozen):
    """Everything that makes one synthetic meter profile; see :data:`PROFILES`."""

    name: str = Field(min_length=1, max_length=63, description="Profile name.")
    meter_type: MeterType = Field(description="InfluxDB measurement prefix (`<type>_consumption`).")
    description: str = Field(default="", max_length=500, description="What it imitates.")
    unit: str = Field(default="kWh", max_length=16, description="Unit of one interval's value.")
    timezone: str = Field(default="Europe/Berlin", max_length=64, description="Local time zone.")
    base_power: float = Field(gt=0.0, le=1e9, description="Base power, unit per hour.")
    weekday: DayShape = Field(description="Monday to Friday.")
    saturday: DayShape = Field(description="Saturday.")
    sunday: DayShape = Field(description="Sunday and public holidays.")
    annual_amplitude: float = Field(
        default=0.0, ge=0.0, le=0.9, description="Non-weather annual swing, fraction of level."
    )
    annual_peak_day: int = Field(default=15, ge=1, le=366, description="Day of the annual peak.")
    heating_base_celsius: float = Field(default=15.0, ge=-20.0, le=30.0, description="HDD base.")
    heating_per_kelvin: float = Field(default=0.0, ge=0.0, le=1.0, description="Per HDD, fraction.")
    cooling_base_celsius: float = Field(default=22.0, ge=0.0, le=40.0, description="CDD base.")
    cooling_per_kelvin: float = Field(default=0.0, ge=0.0, le=1.0, description="Per CDD, fraction.")
    thermal_lag_hours: float = Field(
        default=12.0, ge=0.0, le=240.0, description="Time constant of the felt temperature."
    )
    temperature_in_hours: tuple[float, float] = Field(
        default=(0.0, 24.0),
        description="Local hours [from, to) in which the temperature effect applies fully "
        "(outside: a quarter of it), e.g. business hours for office HVAC.",
    )
    events_per_day: float = Field(
        default=0.0, ge=0.0, le=500.0, description="Random appliance / tap events per day."
    )
    event_power: float = Field(default=0.0, ge=0.0, le=1e9, description="Mean event power.")
    event_minutes: float = Field(default=20.0, gt=0.0, le=600.0, description="Mean duration.")
    persistent_noise: float = Field(
        default=0.05, ge=0.0, le=1.0, description="Std of the hourly AR(1) multiplicative noise."
    )
    white_noise: float = Field(
        default=0.05, ge=0.0, le=1.0, description="Std of the per-interval multiplicative noise."
    )
    additive_noise: float = Field(
        default=0.02, ge=0.0, le=1.0, description="Std of additive noise, fraction of base power."
    )
    level_shifts_per_year: float = Field(default=1.0, ge=0.0, le=50.0, description="Rate.")
    level_shift_size: tuple[float, float] = Field(
        default=(0.15, 0.4), description="Range of |log factor| of a level shift."
    )
    gap_fraction: float = Field(default=0.03, ge=0.0, le=0.5, description="Rows lost in runs.")
    single_loss_fraction: float = Field(default=0.002, ge=0.0, le=0.1, description="Lone losses.")
    spike_fraction: float = Field(default=0.001, ge=0.0, le=0.1, description="Spike outliers.")
    dropout_fraction: float = Field(default=0.002, ge=0.0, le=0.1, description="Zero readings.")
    solar_peak_power: float = Field(
        default=0.0, ge=0.0, le=1e9, description="Peak solar export when negatives are asked for."
    )
    climate: ClimateSpec = Field(default_factory=ClimateSpec, description="Site weather.")


def _b(hour: float, width: float, height: float) -> Bump:
    return Bump(hour=hour, width=width, height=height)


PROFILES: Mapping[str, MeterSpec] = MappingProxyType(
    {
        "household": MeterSpec(
            name="household",
            meter_type="electricity",
            description="A family flat: low base, spiky appliance use, evening peak, "
            "some electric heating; weekends later and flatter.",
            base_power=0.18,
            weekday=DayShape(floor=1.0, bumps=(_b(7.0, 0.8, 1.6), _b(19.0, 1.8, 3.2))),
            saturday=DayShape(
                floor=1.1, bumps=(_b(9.5, 1.3, 1.5), _b(13.0, 1.5, 1.2), _b(19.5, 1.8, 2.8))
            ),
            sunday=DayShape(
                floor=1.1, bumps=(_b(10.0, 1.5, 1.6), _b(12.5, 1.2, 1.8), _b(19.0, 1.8, 2.6))
            ),
            annual_amplitude=0.18,
            annual_peak_day=355,
            heating_base_celsius=12.0,
            heating_per_kelvin=0.03,
            cooling_base_celsius=25.0,
            cooling_per_kelvin=0.04,
            thermal_lag_hours=6.0,
            events_per_day=9.0,
            event_power=1.6,
            event_minutes=18.0,
            persistent_noise=0.10,
            white_noise=0.15,
            additive_noise=0.05,
            level_shifts_per_year=1.5,
            level_shift_size=(0.15, 0.45),
            solar_peak_power=3.0,
        ),
        "commercial": MeterSpec(
            name="commercial",
            meter_type="electricity",
            description="An office building: business-hours plateau with ramps, HVAC that "
            "heats and cools during opening hours, low weekends and holidays.",
            base_power=20.0,
            weekday=DayShape(
                floor=1.0,
                bumps=(_b(9.0, 1.2, 3.2), _b(12.5, 2.2, 3.6), _b(16.0, 1.5, 3.0)),
            ),
            saturday=DayShape(floor=1.0, bumps=(_b(11.0, 2.0, 0.8),)),
            sunday=DayShape(floor=0.95, bumps=()),
            annual_amplitude=0.06,
            annual_peak_day=10,
            heating_base_celsius=14.0,
            heating_per_kelvin=0.025,
            cooling_base_celsius=20.0,
            cooling_per_kelvin=0.06,
            thermal_lag_hours=4.0,
            temperature_in_hours=(7.0, 19.0),
            persistent_noise=0.04,
            white_noise=0.04,
            additive_noise=0.02,
            level_shifts_per_year=1.0,
            level_shift_size=(0.2, 0.5),
            solar_peak_power=60.0,
        ),
        "regional": MeterSpec(
            name="regional",
            meter_type="electricity",
            description="Aggregate demand of a region: smooth, strongly weather driven "
            "(heating and cooling), annual seasonality, lower weekends and holidays.",
            unit="MWh",
            base_power=400.0,
            weekday=DayShape(
                floor=1.0, bumps=(_b(10.0, 3.0, 0.55), _b(15.0, 2.5, 0.35), _b(19.0, 1.6, 0.45))
            ),
            saturday=DayShape(floor=0.95, bumps=(_b(12.0, 3.5, 0.35), _b(19.0, 1.6, 0.4))),
            sunday=DayShape(floor=0.9, bumps=(_b(12.5, 3.0, 0.25), _b(19.0, 1.6, 0.38))),
            annual_amplitude=0.08,
            annual_peak_day=5,
            heating_base_celsius=16.0,
            heating_per_kelvin=0.03,
            cooling_base_celsius=19.0,
            cooling_per_kelvin=0.045,
            thermal_lag_hours=24.0,
            persistent_noise=0.015,
            white_noise=0.006,
            additive_noise=0.003,
            level_shifts_per_year=0.6,
            level_shift_size=(0.05, 0.12),
            gap_fraction=0.02,
            spike_fraction=0.0005,
            dropout_fraction=0.001,
            solar_peak_power=180.0,
        ),
        "water": MeterSpec(
            name="water",
            meter_type="water",
            description="Water of a small residential block: morning and evening peaks, "
            "more on hot days (gardens), random tap events.",
            unit="m3",
            base_power=0.05,
            weekday=DayShape(floor=0.6, bumps=(_b(6.8, 0.9, 4.0), _b(19.5, 1.6, 2.6))),
            saturday=DayShape(floor=0.7, bumps=(_b(8.8, 1.4, 3.2), _b(19.0, 1.8, 2.4))),
            sunday=DayShape(floor=0.7, bumps=(_b(9.2, 1.5, 3.4), _b(18.5, 1.8, 2.2))),
            annual_amplitude=0.05,
            annual_peak_day=200,
            cooling_base_celsius=16.0,
            cooling_per_kelvin=0.06,
            thermal_lag_hours=18.0,
            events_per_day=14.0,
            event_power=0.3,
            event_minutes=10.0,
            persistent_noise=0.08,
            white_noise=0.12,
            additive_noise=0.03,
            level_shifts_per_year=0.8,
        ),
    }
)


def profile_names() -> tuple[str, ...]:
    """Names of the built-in profiles."""
    return tuple(PROFILES)


def get_profile(profile: str | MeterSpec) -> MeterSpec:
    """Return a built-in profile by name (a :class:`MeterSpec` is returned as is)."""
    if isinstance(profile, MeterSpec):
        return profile
    if not isinstance(profile, str):
        raise TypeError(f"profile must be a profile name or a MeterSpec, not {type(profile)!r}")
    try:
        return PROFILES[profile]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown meter profile {profile!r}; known profiles: {known}") from None


@dataclass(frozen=True)
class SyntheticMeter:
    """One simulated meter with its ground truth.

    ``observed`` is what the meter reports: rows missing in gaps, outliers in place.
    ``truth`` has every row of the half-open range and three columns: ``consumption`` (the
    reading without gaps or outliers, noise included: the evaluation target), ``expected``
    (the noise-free signal with the mean of the random events) and ``temperature``.
    The masks are aligned with ``truth.index``.
    """

    spec: MeterSpec
    seed: int
    freq: pd.Timedelta
    observed: pd.DataFrame
    truth: pd.DataFrame
    gap_mask: BoolArray
    spike_mask: BoolArray
    dropout_mask: BoolArray
    level_shift_times: tuple[pd.Timestamp, ...]
    level_shift_factors: tuple[float, ...]
    holidays: tuple[date, ...]

    @property
    def outlier_mask(self) -> BoolArray:
        """Rows holding a spike or a zero dropout (whether or not they fall into a gap)."""
        return self.spike_mask | self.dropout_mask


# --- calendar -------------------------------------------------------------------------------


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def public_holidays(first_year: int, last_year: int) -> tuple[date, ...]:
    """German nationwide public holidays of the years ``first_year..last_year`` (inclusive)."""
    if first_year > last_year:
        raise ValueError(f"first_year {first_year} is after last_year {last_year}")
    days: list[date] = []
    for year in range(first_year, last_year + 1):
        easter = _easter(year)
        days += [date(year, 1, 1), date(year, 5, 1), date(year, 10, 3)]
        days += [date(year, 12, 25), date(year, 12, 26)]
        days += [easter + timedelta(days=n) for n in (-2, 1, 39, 50)]
    return tuple(sorted(days))


@dataclass(frozen=True)
class _Calendar:
    hour: FloatArray  # local clock hour, fractional
    day_type: npt.NDArray[np.int8]
    day_of_year: FloatArray


def _calendar(times: pd.DatetimeIndex, tz: str, holidays: tuple[date, ...]) -> _Calendar:
    local = times.tz_convert(tz)
    wall = local.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    days = wall.astype("datetime64[D]")
    hour = (wall - days).astype(np.int64) / 3.6e12
    # 1970-01-01 was a Thursday: shift so Monday = 0.
    weekday = (days.astype(np.int64) + 3) % 7
    day_type = np.zeros(len(times), dtype=np.int8)
    day_type[weekday == 5] = 1
    holiday_days = np.array(holidays, dtype="datetime64[D]")
    day_type[(weekday == 6) | np.isin(days, holiday_days)] = 2
    year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
    day_of_year = (days - year_start).astype(np.float64) + 1.0 + hour / 24.0
    return _Calendar(hour=hour, day_type=day_type, day_of_year=day_of_year)


def _shape(spec: MeterSpec, cal: _Calendar) -> FloatArray:
    """Relative power from the day shapes (weekday / Saturday / Sunday-or-holiday)."""
    out = np.empty(len(cal.hour))
    for kind, shape in enumerate((spec.weekday, spec.saturday, spec.sunday)):
        sel = cal.day_type == kind
        h = cal.hour[sel]
        value = np.full(h.shape, shape.floor)
        for bump in shape.bumps:
            # Circular distance so that a bump near midnight wraps into the next day.
            dist = (h - bump.hour + 12.0) % 24.0 - 12.0
            value += bump.height * np.exp(-0.5 * (dist / bump.width) ** 2)
        out[sel] = value
    return out


# --- random processes ----------------------------------------------------------------------


def _ar1(rng: np.random.Generator, n: int, phi: float, innovations: FloatArray) -> FloatArray:
    """Stationary AR(1) with unit marginal variance for unit-variance innovations."""
    scale = float(np.sqrt(1.0 - phi * phi))
    out = np.empty(n)
    x = float(rng.standard_normal())
    for i in range(n):  # 8,760 steps per simulated year: cheap, and exact
        x = phi * x + scale * float(innovations[i])
        out[i] = x
    return out


def _decay(inputs: FloatArray, phi: float) -> FloatArray:
    """x[t] = phi * x[t-1] + inputs[t]: impulses that fade geometrically."""
    out = np.empty_like(inputs)
    x = 0.0
    for i, v in enumerate(inputs.tolist()):
        x = phi * x + v
        out[i] = x
    return out


def _ema(values: FloatArray, hours: float) -> FloatArray:
    """Exponential moving average on an hourly grid (thermal inertia of buildings)."""
    if hours <= 0.0:
        return values.copy()
    alpha = 1.0 - float(np.exp(-1.0 / hours))
    out = np.empty_like(values)
    acc = float(values[0])
    for i, v in enumerate(values.tolist()):
        acc += alpha * (v - acc)
        out[i] = acc
    return out


def _events_energy(
    rng: np.random.Generator,
    spec: MeterSpec,
    start: pd.Timestamp,
    edges_h: FloatArray,
    rel: FloatArray,
    holidays: tuple[date, ...],
) -> tuple[FloatArray, FloatArray]:
    """Energy of random events per interval, integrated exactly, and its expectation.

    ``rel`` is the day shape at the interval midpoints. Events arrive as a Poisson process whose
    rate follows the day shape (thinning); each has an exponential duration and a
    gamma-distributed power. The energy of all events up to time x is
    piecewise linear with slope changes (+p at an event's start, -p at its end), so it is
    evaluated at every interval edge with one sort and two cumulative sums.
    """
    n = len(edges_h) - 1
    expected = np.zeros(n)
    if spec.events_per_day <= 0.0 or spec.event_power <= 0.0:
        return np.zeros(n), expected
    span_h = float(edges_h[-1])
    mean_rel = float(rel.mean()) if n else 1.0
    # Rate per hour, proportional to the day shape, averaging events_per_day / 24.
    scale = spec.events_per_day / 24.0 / mean_rel
    rate_max = scale * float(rel.max()) if n else 0.0
    duration_h = spec.event_minutes / 60.0
    expected = scale * rel * spec.event_power * duration_h * np.diff(edges_h)

    count = int(rng.poisson(rate_max * span_h))
    starts = np.sort(rng.uniform(0.0, span_h, count))
    when = pd.DatetimeIndex(start + pd.to_timedelta(starts, unit="h"))
    accept = rng.uniform(0.0, rate_max, count) < scale * _shape(
        spec, _calendar(when, spec.timezone, holidays)
    )
    starts = starts[accept]
    k = len(starts)
    durations = rng.exponential(duration_h, k)
    powers = rng.gamma(2.0, spec.event_power / 2.0, k)

    breaks = np.concatenate([starts, starts + durations])
    slopes = np.concatenate([powers, -powers])
    order = np.argsort(breaks, kind="stable")
    breaks, slopes = breaks[order], slopes[order]
    cum_slope = np.concatenate([[0.0], np.cumsum(slopes)])
    cum_moment = np.concatenate([[0.0], np.cumsum(slopes * breaks)])
    idx = np.searchsorted(breaks, edges_h, side="right")
    energy_to = edges_h * cum_slope[idx] - cum_moment[idx]
    return np.diff(energy_to), expected


def _runs_mask(
    rng: np.random.Generator, n: int, fraction: float, min_len: int, max_len: int
) -> BoolArray:
    """Mask of random runs (log-uniform lengths in [min_len, max_len]) covering ~fraction."""
    mask = np.zeros(n, dtype=bool)
    if fraction <= 0.0 or n == 0:
        return mask
    max_len = max(1, min(max_len, n // 10))
    min_len = max(1, min(min_len, max_len))
    target = fraction * n
    lengths: list[int] = []
    while sum(lengths) < target:
        lengths.append(int(np.exp(rng.uniform(np.log(min_len), np.log(max_len + 1)))))
    for length in lengths:
        first = int(rng.integers(0, max(1, n - length)))
        mask[first : first + length] = True
    return mask


# --- the generator -------------------------------------------------------------------------


def _as_utc(value: datetime, name: str) -> pd.Timestamp:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. tzinfo=UTC), got {value!r}")
    return pd.Timestamp(value).tz_convert("UTC")


def _parse_freq(freq: str) -> pd.Timedelta:
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (ValueError, TypeError):
        raise ValueError(
            f"freq must be a fixed interval such as '1min', '15min', '1h' or '1D', got {freq!r}"
        ) from None
    if step < pd.Timedelta(seconds=1):
        raise ValueError(f"freq must be at least one second, got {freq!r}")
    if step > _HOUR and step % _HOUR != pd.Timedelta(0):
        raise ValueError(f"freq above one hour must be a whole number of hours, got {freq!r}")
    if step > pd.Timedelta(days=7):
        raise ValueError(f"freq must be at most 7 days, got {freq!r}")
    return step


def simulate_meter(
    profile: str | MeterSpec,
    *,
    start: datetime,
    end: datetime,
    freq: str = "1h",
    seed: int = 0,
    gaps: bool = True,
    outliers: bool = True,
    negatives: bool = False,
) -> SyntheticMeter:
    """Simulate one meter over the half-open range ``[start, end)`` with its ground truth.

    ``profile`` is a name from :data:`PROFILES` or a custom :class:`MeterSpec`. ``start`` and
    ``end`` must be timezone-aware; the index is UTC. ``negatives`` subtracts rooftop solar
    (electricity profiles only), so midday values in summer go below zero.
    """
    spec = get_profile(profile)
    t0, t1 = _as_utc(start, "start"), _as_utc(end, "end")
    if t1 <= t0:
        raise ValueError(f"end ({t1.isoformat()}) must be after start ({t0.isoformat()})")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if negatives and spec.meter_type != "electricity":
        raise ValueError(f"negatives (solar export) apply to electricity meters, not {spec.name!r}")
    step = _parse_freq(freq)
    n = int(-((t0 - t1) // step))  # ceil: rows in the half-open range
    if n > MAX_POINTS:
        raise ValueError(f"{n} rows requested; at most {MAX_POINTS} (use a coarser freq)")

    # Above one hour, simulate hourly and aggregate, so a daily value is a true daily sum.
    sub = step // _HOUR if step > _HOUR else 1
    fine_step = step / sub
    m = n * sub
    streams = [
        np.random.default_rng(s)
        for s in np.random.SeedSequence([seed, zlib.crc32(spec.name.encode())]).spawn(10)
    ]
    rng_weather, rng_noise, rng_events, rng_white, rng_shift, rng_cloud = streams[:6]
    rng_gaps, rng_spikes, rng_drops = streams[6:9]

    times = pd.date_range(t0, periods=m, freq=fine_step)
    holidays = public_holidays(t0.year - 1, (t0 + step * n).year + 1)
    fine_h = np.arange(m) * (fine_step / _HOUR)
    dt_h = fine_step / _HOUR
    mids = pd.DatetimeIndex(times + fine_step / 2)
    cal = _calendar(mids, spec.timezone, holidays)

    # Hourly grid from a warm-up week before start (EMA / AR burn-in) to past the end.
    warm = 24 * 7
    grid_n = warm + int(np.ceil(fine_h[-1] + dt_h)) + 2
    grid_h = np.arange(grid_n, dtype=np.float64) - warm
    grid_t = pd.DatetimeIndex(t0 + pd.to_timedelta(grid_h, unit="h"))
    c = spec.climate
    grid_cal = _calendar(grid_t, "UTC", ())
    grid_doy, grid_hour_utc = grid_cal.day_of_year, grid_cal.hour
    phi_weather = float(np.exp(-1.0 / c.weather_hours))
    tail = c.innovation_tail
    t_innov = rng_weather.standard_t(tail, grid_n) / np.sqrt(tail / (tail - 2))
    # Fronts: jumps at random hours (a few hours' ramp), fading over days.
    jumps = np.zeros(grid_n)
    n_fronts = int(rng_weather.poisson(c.fronts_per_month * grid_n / 730.5))
    at = rng_weather.integers(0, grid_n, n_fronts)
    size = rng_weather.normal(0.0, c.front_kelvin, n_fronts)
    for ramp in range(4):
        np.add.at(jumps, np.minimum(at + ramp, grid_n - 1), size / 4.0)
    fronts = _decay(jumps, float(np.exp(-1.0 / c.front_decay_hours)))
    temperature_grid = (
        c.mean_celsius
        - c.annual_amplitude * np.cos(2 * np.pi * (grid_doy - c.coldest_day_of_year) / 365.25)
        + c.daily_amplitude * np.cos(2 * np.pi * (grid_hour_utc - c.warmest_hour_utc) / 24.0)
        + c.weather_sigma * _ar1(rng_weather, grid_n, phi_weather, t_innov)
        + fronts
    )
    felt_grid = _ema(temperature_grid, spec.thermal_lag_hours)
    noise_grid = _ar1(rng_noise, grid_n, 0.92, rng_noise.standard_normal(grid_n))
    cloud_grid = _ar1(rng_cloud, grid_n, 0.95, rng_cloud.standard_normal(grid_n))

    temperature = np.interp(fine_h, grid_h, temperature_grid)
    felt = np.interp(fine_h + dt_h / 2, grid_h, felt_grid)
    persistent = np.interp(fine_h + dt_h / 2, grid_h, noise_grid)

    # Deterministic relative power: day shape x annual cycle x weather response.
    annual = 1.0 + spec.annual_amplitude * np.cos(
        2 * np.pi * (cal.day_of_year - spec.annual_peak_day) / 365.25
    )
    lo, hi = spec.temperature_in_hours
    weight = np.where((cal.hour >= lo) & (cal.hour < hi), 1.0, 0.25)
    weather = 1.0 + weight * (
        spec.heating_per_kelvin * np.maximum(spec.heating_base_celsius - felt, 0.0)
        + spec.cooling_per_kelvin * np.maximum(felt - spec.cooling_base_celsius, 0.0)
    )
    shape = _shape(spec, cal)
    relative = shape * annual * weather

    # Level shifts at random dates away from the very edges.
    span_h = float(fine_h[-1] + dt_h)
    n_shifts = int(rng_shift.poisson(spec.level_shifts_per_year * span_h / 8766.0))
    if spec.level_shifts_per_year > 0 and span_h >= 60 * 24:
        n_shifts = max(n_shifts, 1)
    shift_h = np.sort(rng_shift.uniform(0.1 * span_h, 0.9 * span_h, n_shifts))
    # Snap to the grid: a shift takes effect exactly at the reported timestamp.
    shift_h = np.ceil(shift_h / dt_h) * dt_h
    lo_s, hi_s = spec.level_shift_size
    shift_log = rng_shift.uniform(lo_s, hi_s, n_shifts) * rng_shift.choice([-1.0, 1.0], n_shifts)
    level = np.exp(
        np.concatenate([[0.0], np.cumsum(shift_log)])[np.searchsorted(shift_h, fine_h, "right")]
    )

    edges_h = np.arange(m + 1) * dt_h
    event_energy, event_expected = _events_energy(rng_events, spec, t0, edges_h, shape, holidays)

    base_energy = spec.base_power * dt_h
    expected = level * (base_energy * relative + event_expected)
    noisy = level * (
        base_energy
        * relative
        * np.exp(spec.persistent_noise * persistent - spec.persistent_noise**2 / 2)
        + event_energy
    )
    # Log-normal factors are mean-corrected, so `expected` is the mean of the readings.
    # White noise grows as intervals shrink (1/sqrt of the length in hours, capped at 4x).
    white_sigma = spec.white_noise / np.sqrt(max(dt_h, 1e-9))
    white_sigma = min(white_sigma, 4.0 * spec.white_noise)
    noisy = noisy * np.exp(white_sigma * rng_white.standard_normal(m) - 0.5 * white_sigma**2)
    noisy = noisy + spec.additive_noise * base_energy * rng_white.standard_normal(m)
    noisy = np.maximum(noisy, 0.0)

    if negatives:
        solar = _solar(spec, fine_h, dt_h, t0, cloud_grid, grid_h)
        noisy = noisy - solar
        expected = expected - solar

    if sub > 1:
        noisy = noisy.reshape(n, sub).sum(axis=1)
        expected = expected.reshape(n, sub).sum(axis=1)
        temperature = temperature.reshape(n, sub).mean(axis=1)
        index = pd.date_range(t0, periods=n, freq=step, name="time")
    else:
        index = pd.DatetimeIndex(times, name="time")

    truth = pd.DataFrame(
        {"consumption": noisy, "expected": expected, "temperature": temperature}, index=index
    )

    # Outliers and gaps act on the reported rows only.
    typical = float(np.median(np.abs(noisy))) or spec.base_power * (step / _HOUR)
    if outliers:
        spike_mask = rng_spikes.uniform(size=n) < spec.spike_fraction
        drop_mask = _runs_mask(rng_drops, n, spec.dropout_fraction, 1, 6)
    else:
        spike_mask = np.zeros(n, dtype=bool)
        drop_mask = np.zeros(n, dtype=bool)
    reported = noisy.copy()
    k = int(spike_mask.sum())
    reported[spike_mask] = np.abs(reported[spike_mask]) * rng_spikes.uniform(
        3.0, 10.0, k
    ) + typical * rng_spikes.uniform(3.0, 8.0, k)
    reported[drop_mask] = 0.0

    if gaps:
        per_hour = _HOUR / step
        gap_mask = _runs_mask(
            rng_gaps,
            n,
            spec.gap_fraction,
            max(1, round(2 * per_hour)),
            max(1, round(48 * per_hour)),
        )
        gap_mask |= rng_gaps.uniform(size=n) < spec.single_loss_fraction
    else:
        gap_mask = np.zeros(n, dtype=bool)

    observed = pd.DataFrame({"consumption": reported, "temperature": temperature}, index=index)
    observed = observed.loc[~gap_mask]

    return SyntheticMeter(
        spec=spec,
        seed=seed,
        freq=step,
        observed=observed,
        truth=truth,
        gap_mask=gap_mask,
        spike_mask=spike_mask,
        dropout_mask=drop_mask,
        level_shift_times=tuple(t0 + pd.to_timedelta(shift_h, unit="h").round("s")),
        level_shift_factors=tuple(float(f) for f in np.exp(shift_log)),
        holidays=holidays,
    )


def _solar(
    spec: MeterSpec,
    fine_h: FloatArray,
    dt_h: float,
    t0: pd.Timestamp,
    cloud_grid: FloatArray,
    grid_h: FloatArray,
) -> FloatArray:
    """Rooftop solar energy per interval: a daylight bell in *solar* (UTC-based) time.

    Solar noon does not move with daylight saving while the load shape does, which is one more
    thing a model has to untangle.
    """
    mid_h = fine_h + dt_h / 2
    when = pd.DatetimeIndex(t0 + pd.to_timedelta(mid_h, unit="h"))
    utc = _calendar(when, "UTC", ())
    doy, hour_utc = utc.day_of_year, utc.hour
    season = np.cos(2 * np.pi * (doy - 172) / 365.25)
    day_length = 12.0 + 4.0 * season
    sunrise = 11.3 - day_length / 2.0  # solar noon around 11:20 UTC at 10 degrees east
    phase = (hour_utc - sunrise) / day_length
    bell = np.where((phase > 0) & (phase < 1), np.sin(np.pi * np.clip(phase, 0, 1)) ** 1.5, 0.0)
    clear_sky = 0.65 + 0.35 * season
    clouds = 1.0 / (1.0 + np.exp(-1.5 * np.interp(mid_h, grid_h, cloud_grid) - 0.8))
    return spec.solar_peak_power * bell * clear_sky * clouds * dt_h


def generate_meter(
    profile: str | MeterSpec,
    *,
    start: datetime,
    end: datetime,
    freq: str = "1h",
    seed: int = 0,
    with_temperature: bool = True,
    gaps: bool = True,
    outliers: bool = True,
    negatives: bool = False,
) -> pd.DataFrame:
    """The readings of a synthetic meter over ``[start, end)``, as the meter would report them.

    Returns a frame indexed by UTC timestamps (index name ``time``) with a float
    ``consumption`` column and, when ``with_temperature``, a float ``temperature`` column (°C).
    Rows are missing where there are gaps. Same arguments, same frame.
    """
    meter = simulate_meter(
        profile,
        start=start,
        end=end,
        freq=freq,
        seed=seed,
        gaps=gaps,
        outliers=outliers,
        negatives=negatives,
    )
    frame = meter.observed
    return frame if with_temperature else frame.drop(columns=["temperature"])


def clean_meter(
    profile: str | MeterSpec,
    *,
    start: datetime,
    end: datetime,
    freq: str = "1h",
    seed: int = 0,
    with_temperature: bool = True,
    negatives: bool = False,
) -> pd.DataFrame:
    """The truth behind :func:`generate_meter` with the same arguments: every row, no outliers.

    Noise stays in (it is what the meter really consumed); the evaluation target for a model
    trained on the gappy, outlier-ridden readings.
    """
    meter = simulate_meter(
        profile,
        start=start,
        end=end,
        freq=freq,
        seed=seed,
        gaps=False,
        outliers=False,
        negatives=negatives,
    )
    columns = ["consumption", "temperature"] if with_temperature else ["consumption"]
    return meter.truth[columns]
