"""The holiday calendar of the features: Germany's nationwide holidays, or none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wattcast.forecasting.features.calendar import german_holidays, holiday_flags, local_calendar


def test_germany_has_nine_nationwide_holidays_a_year() -> None:
    for year in (2023, 2024, 2025):
        assert len(german_holidays(year)) == 9
    assert {str(d) for d in german_holidays(2025)} >= {"2025-05-29", "2025-06-09"}


def test_flags_span_years_and_empty_input() -> None:
    days = np.array(["2024-12-26", "2025-01-01", "2025-01-02"], dtype="datetime64[D]")
    assert holiday_flags(days, "DE").tolist() == [1.0, 1.0, 0.0]
    assert holiday_flags(np.array([], dtype="datetime64[D]"), "DE").tolist() == []


def test_an_unknown_calendar_is_refused() -> None:
    days = np.array(["2024-12-25"], dtype="datetime64[D]")
    with pytest.raises(ValueError, match="unknown holiday calendar 'FR'"):
        holiday_flags(days, "FR")


def test_the_local_calendar_follows_daylight_saving_time() -> None:
    # 2024-03-31 01:00 UTC is 03:00 in Berlin (summer time), 00:00 UTC the day before is 01:00.
    index = pd.DatetimeIndex(["2024-03-30T00:00:00Z", "2024-03-31T01:00:00Z"])
    calendar = local_calendar(index, "Europe/Berlin")
    assert calendar.hour.tolist() == [1.0, 3.0]
    assert calendar.weekday.tolist() == [5, 6]  # Saturday, Sunday
