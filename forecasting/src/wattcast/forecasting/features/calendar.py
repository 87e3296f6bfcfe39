"""The calendar of the features: local clock time and public holidays.

The holiday calendar (`WATTCAST_HOLIDAYS`, recorded per model version in metadata.json) is
`DE`, Germany's nine nationwide public holidays, or `none`. It is written here rather than
taken from the `holidays` package: every release of it since 0.87 requires python-dateutil
< 3, while the kubernetes client the trainer and the API use requires >= 3 (docs/trainer.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NO_HOLIDAYS = "none"
GERMANY = "DE"


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
    if calendar == NO_HOLIDAYS or len(days) == 0:
        return np.zeros(len(days))
    if calendar != GERMANY:
        raise ValueError(f"unknown holiday calendar {calendar!r} (known: DE, none)")
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
    """Local clock hour, weekday, day of year and day of each point of `index`."""
    wall = index.tz_convert(timezone).tz_localize(None).to_numpy(dtype="datetime64[ns]")
    days = wall.astype("datetime64[D]")
    hour = (wall - days).astype(np.int64) / 3.6e12
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
    day_of_year = (days - year_start).astype(np.float64) + hour / 24.0
    return Calendar(hour=hour, weekday=weekday, day_of_year=day_of_year, days=days)
