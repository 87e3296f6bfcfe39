"""The synthetic meters are reproducible and carry every hard feature, measurably."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from wattcast.devtools.testbed.synthetic import (
    PROFILES,
    SyntheticMeter,
    clean_meter,
    generate_meter,
    profile_names,
    public_holidays,
    simulate_meter,
)

START = datetime(2022, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)
ALL = list(profile_names())


@pytest.fixture(scope="module")
def two_years() -> dict[str, SyntheticMeter]:
    """Two hourly years of every profile (seed 7), shared by the measurements below."""
    return {name: simulate_meter(name, start=START, end=END, seed=7) for name in ALL}


def _daily(meter: SyntheticMeter) -> pd.DataFrame:
    daily = meter.truth.resample("1D").agg({"consumption": "sum", "temperature": "mean"})
    dow = daily.index.dayofweek
    holiday = pd.Index(daily.index.date).isin(meter.holidays)
    daily["kind"] = np.select([holiday | (dow == 6), dow == 5], ["sunday", "saturday"], "weekday")
    daily["holiday"] = holiday & (dow < 5)
    return daily


def test_profiles_cover_the_four_kinds() -> None:
    assert set(ALL) == {"household", "commercial", "regional", "water"}
    assert PROFILES["water"].meter_type == "water"
    assert {PROFILES[n].meter_type for n in ("household", "commercial", "regional")} == {
        "electricity"
    }


@pytest.mark.parametrize("profile", ALL)
def test_same_seed_gives_the_same_meter(profile: str) -> None:
    first = generate_meter(profile, start=START, end=START + timedelta(days=90), seed=3)
    again = generate_meter(profile, start=START, end=START + timedelta(days=90), seed=3)
    pd.testing.assert_frame_equal(first, again)


@pytest.mark.parametrize("profile", ALL)
def test_different_seeds_give_different_meters(profile: str) -> None:
    kwargs = {"start": START, "end": START + timedelta(days=30), "gaps": False}
    one = generate_meter(profile, seed=1, **kwargs)  # type: ignore[arg-type]
    two = generate_meter(profile, seed=2, **kwargs)  # type: ignore[arg-type]
    assert not np.allclose(one["consumption"], two["consumption"])
    assert not np.allclose(one["temperature"], two["temperature"])


def test_profiles_differ_under_one_seed() -> None:
    household = clean_meter("household", start=START, end=START + timedelta(days=30), seed=5)
    water = clean_meter("water", start=START, end=START + timedelta(days=30), seed=5)
    assert not np.allclose(household["temperature"], water["temperature"])


def test_frame_shape_index_and_columns() -> None:
    start = datetime(2024, 3, 1, 6, 30, tzinfo=UTC)
    end = start + timedelta(days=10)
    frame = generate_meter("commercial", start=start, end=end, seed=1, gaps=False)
    assert list(frame.columns) == ["consumption", "temperature"]
    assert frame.index.name == "time"
    assert str(frame.index.tz) == "UTC"
    assert frame.index[0] == pd.Timestamp(start)  # half-open: start included ...
    assert frame.index[-1] == pd.Timestamp(end) - pd.Timedelta(hours=1)  # ... end excluded
    assert len(frame) == 240
    assert frame.dtypes.tolist() == [np.float64, np.float64]
    assert frame.notna().all().all()
    without = generate_meter("commercial", start=start, end=end, seed=1, with_temperature=False)
    assert list(without.columns) == ["consumption"]


def test_timezone_aware_inputs_in_other_zones_are_converted_to_utc() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 1, 1, 1, tzinfo=berlin)  # = 00:00 UTC
    frame = generate_meter("water", start=start, end=start + timedelta(days=2), gaps=False)
    assert frame.index[0] == pd.Timestamp("2024-01-01T00:00:00Z")


def test_clean_meter_is_the_truth_behind_the_readings() -> None:
    kwargs = {"start": START, "end": START + timedelta(days=120), "seed": 11}
    meter = simulate_meter("household", **kwargs)  # type: ignore[arg-type]
    truth = clean_meter("household", **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(truth, meter.truth[["consumption", "temperature"]])
    # Switching gaps and outliers off changes nothing else.
    plain = generate_meter("household", gaps=False, outliers=False, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(plain, truth)
    # The readings are the truth minus the gap rows, except at outliers.
    observed = meter.observed
    assert len(observed) == len(truth) - int(meter.gap_mask.sum())
    kept = ~meter.gap_mask & ~meter.outlier_mask
    aligned = truth["consumption"].to_numpy()[kept]
    np.testing.assert_array_equal(
        observed["consumption"].to_numpy()[kept[~meter.gap_mask]], aligned
    )


@pytest.mark.parametrize("profile", ALL)
def test_daily_seasonality(two_years: dict[str, SyntheticMeter], profile: str) -> None:
    consumption = two_years[profile].truth["consumption"]
    assert consumption.autocorr(24) > 0.25
    assert consumption.autocorr(24) > consumption.autocorr(12) + 0.05


@pytest.mark.parametrize("profile", ["commercial", "regional"])
def test_weekly_seasonality(two_years: dict[str, SyntheticMeter], profile: str) -> None:
    consumption = two_years[profile].truth["consumption"]
    # A week back matches better than six days back: the week has a shape.
    assert consumption.autocorr(168) > consumption.autocorr(144) + 0.05
    daily = _daily(two_years[profile])
    by_kind = daily.groupby("kind")["consumption"].mean()
    assert by_kind["sunday"] < 0.85 * by_kind["weekday"]


def test_household_weekends_differ_from_weekdays(two_years: dict[str, SyntheticMeter]) -> None:
    truth = two_years["household"].truth
    local = truth.index.tz_convert("Europe/Berlin")
    midday = (local.hour >= 10) & (local.hour < 15)
    weekend = local.dayofweek >= 5
    mean = truth["consumption"]
    assert mean[midday & weekend].mean() > 1.2 * mean[midday & ~weekend].mean()


def test_commercial_is_a_business_hours_meter(two_years: dict[str, SyntheticMeter]) -> None:
    truth = two_years["commercial"].truth
    local = truth.index.tz_convert("Europe/Berlin")
    weekday = local.dayofweek < 5
    office = weekday & (local.hour >= 9) & (local.hour < 17)
    night = weekday & ((local.hour < 5) | (local.hour >= 22))
    assert truth["consumption"][office].mean() > 2.5 * truth["consumption"][night].mean()


def test_daily_shape_follows_local_time_across_daylight_saving(
    two_years: dict[str, SyntheticMeter],
) -> None:
    expected = two_years["water"].truth["expected"]
    weekday = expected.index.dayofweek < 5

    def peak_hour_utc(month: int) -> int:
        sel = weekday & (expected.index.month == month)
        return int(expected[sel].groupby(expected.index[sel].hour).mean().idxmax())

    # The morning peak near 07:00 Berlin time is 06:00 UTC in winter and 05:00 UTC in summer.
    assert peak_hour_utc(1) - peak_hour_utc(7) == 1


def test_temperature_has_annual_and_daily_cycles_and_fronts(
    two_years: dict[str, SyntheticMeter],
) -> None:
    temperature = two_years["regional"].truth["temperature"]
    monthly = temperature.groupby(temperature.index.month).mean()
    assert monthly[7] - monthly[1] > 10.0
    hourly = temperature.groupby(temperature.index.hour).mean()
    assert hourly[14] - hourly[4] > 4.0
    daily = temperature.resample("1D").mean()
    anomaly = daily - daily.rolling(31, center=True, min_periods=1).mean()
    assert anomaly.std() > 1.5  # weather, not just a climatology
    assert daily.diff().kurt() > 0.5  # heavy tails: fronts


def test_regional_demand_heats_and_cools(two_years: dict[str, SyntheticMeter]) -> None:
    daily = _daily(two_years["regional"])
    workdays = daily[daily["kind"] == "weekday"]
    cold = workdays[workdays["temperature"] < 8.0]
    hot = workdays[workdays["temperature"] > 19.0]
    assert len(cold) > 100
    assert len(hot) > 30
    assert cold["consumption"].corr(cold["temperature"]) < -0.4  # heating
    assert hot["consumption"].corr(hot["temperature"]) > 0.3  # cooling


def test_water_rises_on_hot_days(two_years: dict[str, SyntheticMeter]) -> None:
    daily = _daily(two_years["water"])
    summer = daily[daily.index.month.isin([6, 7, 8])]
    hot = summer["temperature"] > summer["temperature"].quantile(0.8)
    cool = summer["temperature"] < summer["temperature"].quantile(0.2)
    assert summer["consumption"][hot].mean() > 1.1 * summer["consumption"][cool].mean()


@pytest.mark.parametrize("profile", ALL)
def test_holidays_behave_like_sundays(two_years: dict[str, SyntheticMeter], profile: str) -> None:
    daily = _daily(two_years[profile])
    holidays = daily[daily["holiday"]]["consumption"]
    sundays = daily[(daily["kind"] == "sunday") & ~daily["holiday"]]["consumption"]
    weekdays = daily[daily["kind"] == "weekday"]["consumption"]
    assert len(holidays) >= 10
    assert holidays.mean() == pytest.approx(sundays.mean(), rel=0.25)
    if profile in ("commercial", "regional"):
        assert holidays.mean() < 0.85 * weekdays.mean()  # "holidays lower"


def test_public_holidays_include_the_movable_feasts() -> None:
    days = public_holidays(2024, 2024)
    assert len(days) == 9
    for expected in (
        date(2024, 1, 1),
        date(2024, 3, 29),  # Good Friday
        date(2024, 4, 1),  # Easter Monday
        date(2024, 5, 9),  # Ascension
        date(2024, 5, 20),  # Whit Monday
        date(2024, 10, 3),
        date(2024, 12, 25),
    ):
        assert expected in days
    assert date(2025, 4, 21) in public_holidays(2025, 2026)  # Easter Monday 2025
    with pytest.raises(ValueError, match="after last_year"):
        public_holidays(2025, 2024)


@pytest.mark.parametrize("profile", ALL)
def test_level_shifts_are_present_and_visible(profile: str) -> None:
    spec = PROFILES[profile]
    meter = simulate_meter(spec, start=START, end=END, seed=21)
    assert len(meter.level_shift_times) >= 1
    assert all(pd.Timestamp(START) < t < pd.Timestamp(END) for t in meter.level_shift_times)
    # Same meter without shifts: every other component draws from its own stream, so the
    # ratio of the noise-free signals is exactly the level step function.
    flat = simulate_meter(
        spec.model_copy(update={"level_shifts_per_year": 0.0}), start=START, end=END, seed=21
    )
    ratio = meter.truth["expected"] / flat.truth["expected"]
    assert ratio.iloc[0] == pytest.approx(1.0)
    first, factor = meter.level_shift_times[0], meter.level_shift_factors[0]
    assert abs(np.log(factor)) >= spec.level_shift_size[0] - 1e-12
    after = ratio[first : first + pd.Timedelta(days=1)].iloc[1:]
    assert after.to_numpy() == pytest.approx(factor)
    # And visible in the noisy readings: two weeks either side, relative to the flat meter.
    before = slice(first - pd.Timedelta(days=14), first)
    later = slice(first, first + pd.Timedelta(days=14))
    measured = (
        meter.truth["consumption"][later].sum() / flat.truth["consumption"][later].sum()
    ) / (meter.truth["consumption"][before].sum() / flat.truth["consumption"][before].sum())
    assert measured == pytest.approx(factor, rel=0.1)


@pytest.mark.parametrize("profile", ALL)
def test_gaps_are_runs_of_missing_rows(two_years: dict[str, SyntheticMeter], profile: str) -> None:
    meter = two_years[profile]
    assert 0.01 <= meter.gap_mask.mean() <= 0.08
    edges = np.diff(np.concatenate([[0], meter.gap_mask.astype(np.int8), [0]]))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    assert lengths.min() == 1  # isolated lost readings
    assert lengths.max() >= 24  # and outages of a day or more
    assert lengths.max() <= 4 * 24
    assert len(meter.observed) == len(meter.truth) - meter.gap_mask.sum()
    assert not meter.observed.index.isin(meter.truth.index[meter.gap_mask]).any()


@pytest.mark.parametrize("profile", ALL)
def test_outliers_are_spikes_and_zero_dropouts(
    two_years: dict[str, SyntheticMeter], profile: str
) -> None:
    meter = two_years[profile]
    reported = simulate_meter(profile, start=START, end=END, seed=7, gaps=False).observed
    truth = meter.truth["consumption"].to_numpy()
    values = reported["consumption"].to_numpy()
    assert meter.spike_mask.sum() >= 3
    assert meter.dropout_mask.sum() >= 3
    spikes = meter.spike_mask & ~meter.dropout_mask
    assert np.all(values[spikes] > 3.0 * truth[spikes])
    assert np.all(values[meter.dropout_mask] == 0.0)
    assert np.all(truth[meter.dropout_mask] > 0.0)


def test_negatives_come_from_solar_export_at_summer_noon() -> None:
    summer = datetime(2023, 6, 1, tzinfo=UTC)
    frame = generate_meter(
        "household", start=summer, end=summer + timedelta(days=30), seed=2, negatives=True
    )
    negative = frame[frame["consumption"] < 0]
    assert len(negative) > 20
    assert set(negative.index.hour) <= set(range(3, 20))  # daylight, in UTC
    assert (
        generate_meter("household", start=summer, end=summer + timedelta(days=30), seed=2)[
            "consumption"
        ]
        >= 0
    ).all()


def test_coarse_freq_is_the_sum_of_the_hourly_meter() -> None:
    end = START + timedelta(days=60)
    hourly = clean_meter("regional", start=START, end=end, seed=4)
    daily = clean_meter("regional", start=START, end=end, freq="1D", seed=4)
    assert len(daily) == 60
    np.testing.assert_allclose(
        daily["consumption"].to_numpy(), hourly["consumption"].resample("1D").sum().to_numpy()
    )
    np.testing.assert_allclose(
        daily["temperature"].to_numpy(), hourly["temperature"].resample("1D").mean().to_numpy()
    )


def test_a_year_of_minutes_is_complete_and_fast() -> None:
    year = datetime(2023, 1, 1, tzinfo=UTC)
    began = time.perf_counter()
    meter = simulate_meter("household", start=year, end=year.replace(year=2024), freq="1min")
    elapsed = time.perf_counter() - began
    assert len(meter.truth) == 525_600
    assert len(meter.observed) == 525_600 - int(meter.gap_mask.sum())
    assert pd.infer_freq(meter.truth.index[:100]) in ("min", "T")
    # Budget 1 s on a quiet machine; the bound leaves room for a busy CI runner.
    assert elapsed < 5.0
    # Minute values are energy per minute: the same scale per hour as the hourly meter.
    hourly = clean_meter("household", start=year, end=year.replace(year=2024))
    assert meter.truth["consumption"].sum() == pytest.approx(hourly["consumption"].sum(), rel=0.1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"profile": "nuclear"}, ValueError, "unknown meter profile 'nuclear'; known profiles"),
        ({"profile": 42}, TypeError, "profile must be a profile name or a MeterSpec"),
        ({"start": datetime(2024, 1, 1)}, ValueError, "start must be timezone-aware"),
        ({"end": "2024-02-01"}, TypeError, "end must be a datetime"),
        ({"end": datetime(2023, 1, 1, tzinfo=UTC)}, ValueError, "must be after start"),
        ({"freq": "1MS"}, ValueError, "freq must be a fixed interval"),
        ({"freq": "banana"}, ValueError, "freq must be a fixed interval"),
        ({"freq": "0s"}, ValueError, "freq must be at least one second"),
        ({"freq": "90min"}, ValueError, "whole number of hours"),
        ({"freq": "14D"}, ValueError, "at most 7 days"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"seed": 1.5}, ValueError, "seed must be a non-negative integer"),
        ({"profile": "water", "negatives": True}, ValueError, "apply to electricity meters"),
        (
            {"freq": "1s", "end": datetime(2025, 1, 1, tzinfo=UTC)},
            ValueError,
            "at most 20000000",
        ),
    ],
    ids=[
        "unknown-profile",
        "profile-not-a-string",
        "naive-start",
        "end-not-datetime",
        "end-before-start",
        "calendar-freq",
        "garbage-freq",
        "zero-freq",
        "freq-not-whole-hours",
        "freq-too-coarse",
        "negative-seed",
        "float-seed",
        "negatives-on-water",
        "too-many-points",
    ],
)
def test_bad_input_is_refused_clearly(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {
        "profile": "household",
        "start": datetime(2024, 1, 1, tzinfo=UTC),
        "end": datetime(2024, 2, 1, tzinfo=UTC),
    } | kwargs
    with pytest.raises(error, match=message):
        generate_meter(**arguments)  # type: ignore[arg-type]


def test_a_custom_spec_is_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="base_power"):
        PROFILES["household"].model_validate(
            PROFILES["household"].model_dump() | {"base_power": -1.0}
        )


@pytest.mark.parametrize("profile", ALL)
def test_expected_column_is_the_mean_of_the_readings(
    two_years: dict[str, SyntheticMeter], profile: str
) -> None:
    truth = two_years[profile].truth
    assert truth["consumption"].sum() == pytest.approx(truth["expected"].sum(), rel=0.03)
    # ... but the readings are noisy around it.
    assert (truth["consumption"] - truth["expected"]).abs().mean() > 0.005 * truth[
        "expected"
    ].mean()
