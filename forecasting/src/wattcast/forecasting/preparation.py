"""From the server's aggregated points to a regular, cleaned series (docs/design.md §5).

The rules, in order (docs/trainer.md repeats them for users):

1. **Fixed frequency.** The series is put on the grid of the model's resolution over the
   TrainingJob's half-open range; points off the grid or outside the range are dropped
   (InfluxDB already aggregated to window starts, so none are expected).
2. **Non-finite values** (NaN, ±inf) are missing.
3. **Negatives.** Electricity meters keep them: net metering with solar export is negative
   and real. Water meters cannot run backwards, so a negative reading is treated as missing.
4. **Outliers.** Real meters report spikes (counter glitches, catch-up readings) and dropouts
   (runs of exact zeros). A *spike* is a point above both the same time on the surrounding six
   days (median) and the same time of week on the surrounding four weeks (median) by more than
   ``OUTLIER_SCALES`` times the local scale (the 90th percentile of absolute deviations over
   two weeks, so heavy-tailed meters keep their real appliance peaks). A *dropout* is an exact
   zero on a meter that is rarely zero, where the surrounding days are clearly above zero.
   Low values are otherwise kept: weekends, holidays and mild spells are real. Both kinds are
   treated as missing.
   An *outage* is a run of exact zeros longer than ``max_zero_hours`` (`WATTCAST_MAX_ZERO_HOURS`,
   default 24 h; 0 turns the rule off): a meter or its link that is down often reports zeros
   instead of nothing. The whole run is missing data, found before the spike and dropout rules
   (so a long outage cannot make a meter look "often zero" and switch the dropout rule off).
5. **Gaps.** Runs of missing points up to ``max_gap_hours`` are linearly interpolated; longer
   runs stay missing. Interpolated and missing points are never training targets and never
   scored; features that need them use a seasonal fill (see :mod:`features`).
6. **Temperature** (optional) is interpolated across any gap; if more than half of it is
   missing it is dropped as a feature.

Too little valid data after cleaning raises :class:`DataInsufficientError` with both numbers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from wattcast.crd import MeterType, Resolution
from wattcast.forecasting.errors import DataInsufficientError, NoDataError

OUTLIER_SCALES = 4.0
# A run of exact zeros longer than this is an outage, not consumption (WATTCAST_MAX_ZERO_HOURS).
DEFAULT_MAX_ZERO_HOURS = 24.0
_MIN_TEMPERATURE_COVERAGE = 0.5

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def freq_of(resolution: Resolution) -> pd.Timedelta:
    """The grid step of a model resolution."""
    return pd.Timedelta(minutes=resolution.minutes)


def steps_per_day(freq: pd.Timedelta) -> int:
    """Grid points per day at `freq`."""
    return int(pd.Timedelta(days=1) / freq)


@dataclass(frozen=True)
class CleaningReport:
    """What preparation did, for the logs and metadata.json."""

    raw_points: int
    grid_points: int
    negatives_dropped: int
    outage_zeros: int
    outliers_removed: int
    interpolated: int
    missing: int
    valid_points: int
    valid_days: float
    temperature: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PreparedSeries:
    """A regular series: `consumption` (NaN only in long gaps), `valid` (an observed point
    that survived cleaning: usable as target and for scoring), optional `temperature`."""

    frame: pd.DataFrame
    freq: pd.Timedelta
    report: CleaningReport
    steps_per_day: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps_per_day", steps_per_day(self.freq))

    @property
    def has_temperature(self) -> bool:
        return "temperature" in self.frame.columns


def _run_lengths(missing: BoolArray) -> npt.NDArray[np.int64]:
    """For each position, the length of the run of `True` it belongs to (0 outside runs)."""
    if not missing.any():
        return np.zeros(len(missing), dtype=np.int64)
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    lengths = np.zeros(len(missing), dtype=np.int64)
    run_length = np.repeat(ends - starts, ends - starts)
    lengths[missing] = run_length
    return lengths


def _shifted_stack(values: FloatArray, shifts: range | list[int]) -> FloatArray:
    """Rows of `values` shifted by each offset (NaN where out of range): vectorised windows."""
    n = len(values)
    out = np.full((len(shifts), n), np.nan)
    for row, shift in enumerate(shifts):
        if abs(shift) >= n:
            continue  # a series shorter than the offset: that row stays missing
        if shift > 0:
            out[row, shift:] = values[: n - shift]
        elif shift < 0:
            out[row, :shift] = values[-shift:]
        else:
            out[row] = values
    return out


def find_outliers(values: FloatArray, steps_per_day: int) -> BoolArray:
    """Spikes and dropouts (see the module doc); low values are never flagged otherwise.

    Weekends, holidays and cold spells make points legitimately *lower or higher* than their
    neighbours, so a spike must exceed both references: the same time on the surrounding days
    and the same time of week on the surrounding weeks.
    """
    day, week = steps_per_day, 7 * steps_per_day
    by_day = _shifted_stack(values, [k * day for k in (-3, -2, -1, 1, 2, 3)])
    by_week = _shifted_stack(values, [k * week for k in (-2, -1, 1, 2)])
    with warnings.catch_warnings():
        # nanmedian warns on all-NaN columns; those are expected (long gaps) and masked.
        warnings.simplefilter("ignore", RuntimeWarning)
        ref_day = np.nanmedian(by_day, axis=0)
        ref_week = np.nanmedian(by_week, axis=0)
    enough = np.sum(np.isfinite(by_day), axis=0) >= 3
    reference = np.where(np.isfinite(ref_week), np.fmax(ref_day, ref_week), ref_day)
    deviation = values - ref_day
    # Local scale: the 90th percentile of the absolute deviation over the surrounding two
    # weeks. A high quantile (not the MAD) keeps heavy-tailed meters' real appliance peaks in:
    # only a point several times further out than the usual large excursions is a spike.
    scale = (
        pd.Series(np.abs(deviation))
        .rolling(2 * week, center=True, min_periods=day)
        .quantile(0.9)
        .to_numpy(dtype=np.float64)
    )
    typical = float(np.nanmedian(np.abs(values))) if np.isfinite(values).any() else 0.0
    floor = 0.02 * typical + 1e-12
    sigma = np.maximum(np.nan_to_num(scale, nan=np.inf), floor)
    # Exact zeros are dropouts on a meter that is rarely zero, where the same time on the
    # surrounding days is clearly above zero.
    finite = values[np.isfinite(values)]
    rarely_zero = len(finite) > 0 and float(np.mean(finite == 0.0)) < 0.05
    with np.errstate(invalid="ignore"):
        spike = enough & (values - reference > OUTLIER_SCALES * sigma)
        dropout = enough & (values == 0.0) & (ref_day > 0.25 * typical) & rarely_zero
    return np.asarray(spike | dropout, dtype=bool)


def outage_zeros(values: FloatArray, freq: pd.Timedelta, max_zero_hours: float | None) -> BoolArray:
    """The points in runs of exact zeros longer than `max_zero_hours` (None or 0: none)."""
    if not max_zero_hours:
        return np.zeros(len(values), dtype=bool)
    zero = values == 0.0
    longest = math.floor(pd.Timedelta(hours=max_zero_hours) / freq)
    return np.asarray(zero & (_run_lengths(zero) > longest), dtype=bool)


def regular_grid(start: pd.Timestamp, end: pd.Timestamp, freq: pd.Timedelta) -> pd.DatetimeIndex:
    """The grid points in [start, end), start rounded up to the grid (UTC).

    Both ends are converted to UTC first: pandas refuses a range whose ends carry different
    offsets (`Z` and `+01:00`), and the series' index is UTC anyway."""
    first = start.tz_convert("UTC").ceil(freq)
    return pd.date_range(first, end.tz_convert("UTC"), freq=freq, inclusive="left", name="time")


def prepare(
    raw: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    freq: pd.Timedelta,
    meter_type: MeterType,
    max_gap_hours: float,
    min_days: float,
    max_zero_hours: float | None = DEFAULT_MAX_ZERO_HOURS,
) -> PreparedSeries:
    """Regularise and clean `raw` (index UTC times; `consumption`, optional `temperature`).

    Raises NoDataError for an empty frame and DataInsufficientError when fewer than
    `min_days` days of valid points remain.
    """
    values_raw = raw["consumption"] if "consumption" in raw.columns else pd.Series(dtype=float)
    if values_raw.notna().sum() == 0:
        raise NoDataError("no consumption data in the requested range")
    grid = regular_grid(start, end, freq)
    frame = raw.reindex(grid)
    consumption = pd.to_numeric(frame["consumption"], errors="coerce").to_numpy(
        dtype=np.float64, copy=True
    )
    consumption[~np.isfinite(consumption)] = np.nan

    negatives_dropped = 0
    if meter_type == MeterType.WATER:
        negative = consumption < 0
        negatives_dropped = int(negative.sum())
        consumption[negative] = np.nan

    outage = outage_zeros(consumption, freq, max_zero_hours)
    consumption[outage] = np.nan

    per_day = steps_per_day(freq)
    outliers = find_outliers(consumption, per_day)
    consumption[outliers] = np.nan
    valid = np.isfinite(consumption)

    missing = ~valid
    runs = _run_lengths(missing)
    max_steps = math.floor(pd.Timedelta(hours=max_gap_hours) / freq)
    short = missing & (runs <= max_steps)
    series = pd.Series(consumption, index=grid)
    if short.any() and valid.sum() >= 2:
        interpolated = series.interpolate(method="time", limit_area="inside").to_numpy()
        consumption = np.where(short, interpolated, consumption)
    filled = short & np.isfinite(consumption)

    columns: dict[str, npt.ArrayLike] = {"consumption": consumption, "valid": valid}
    has_temperature = False
    if "temperature" in frame.columns:
        temperature = pd.to_numeric(frame["temperature"], errors="coerce")
        temperature = temperature.where(np.isfinite(temperature))
        if temperature.notna().mean() >= _MIN_TEMPERATURE_COVERAGE:
            temperature = temperature.interpolate(method="time", limit_area="inside")
            columns["temperature"] = temperature.ffill().bfill().to_numpy(dtype=np.float64)
            has_temperature = True
    prepared = pd.DataFrame(columns, index=grid)

    valid_points = int(valid.sum())
    valid_days = valid_points / per_day
    report = CleaningReport(
        raw_points=int(values_raw.notna().sum()),
        grid_points=len(grid),
        negatives_dropped=negatives_dropped,
        outage_zeros=int(outage.sum()),
        outliers_removed=int(outliers.sum()),
        interpolated=int(filled.sum()),
        missing=int(np.isnan(consumption).sum()),
        valid_points=valid_points,
        valid_days=round(valid_days, 2),
        temperature=has_temperature,
    )
    if valid_points == 0:
        raise NoDataError("no valid consumption data in the requested range after cleaning")
    if valid_days < min_days:
        raise DataInsufficientError(
            f"have {valid_days:.1f} days of data after cleaning, need {min_days:g} "
            f"({valid_points} valid points at {_format_freq(freq)}; "
            f"{report.outliers_removed} outliers, {report.outage_zeros} outage zeros and "
            f"{negatives_dropped} negatives removed)"
        )
    return PreparedSeries(frame=prepared, freq=freq, report=report)


def _format_freq(freq: pd.Timedelta) -> str:
    minutes = int(freq / pd.Timedelta(minutes=1))
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"
