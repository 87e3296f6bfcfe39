"""The seasonal-naive baselines are Forecasters over the same FeatureSet as the models."""

from __future__ import annotations

import numpy as np
import pytest
from prepared_series import hourly_series

from wattcast.crd import ModelSpec
from wattcast.forecasting.baselines import SeasonalNaive, seasonal_naive_baselines
from wattcast.forecasting.features.building import FeatureSet, build_features
from wattcast.forecasting.features.configuration import FeatureConfig
from wattcast.forecasting.forecasters import Forecaster
from wattcast.forecasting.preparation import PreparedSeries


def _features(series: PreparedSeries) -> FeatureSet:
    config = FeatureConfig.from_spec(ModelSpec(), 24, timezone="Europe/Berlin", holidays="DE")
    return build_features(series, config, scale_until=len(series.frame))


def test_naive_baselines_forecast_the_lagged_consumption_at_every_row() -> None:
    values = 10.0 + np.arange(40 * 24, dtype=float) % 24
    series = hourly_series(values)
    features = _features(series)
    baselines = seasonal_naive_baselines(24)
    assert list(baselines) == ["naiveDaily", "naiveWeekly"]
    daily = baselines["naiveDaily"].predict(features)
    weekly = baselines["naiveWeekly"].predict(features)
    consumption = series.frame["consumption"].to_numpy()
    assert daily.tolist() == consumption[features.positions - 24].tolist()
    assert weekly.tolist() == consumption[features.positions - 168].tolist()


def test_a_long_gap_makes_the_baseline_read_one_period_further_back() -> None:
    values = 10.0 + np.arange(40 * 24, dtype=float) % 24
    values[30 * 24 : 30 * 24 + 12] = np.nan  # 12 h: longer than the 6 h bridged
    series = hourly_series(values)
    features = _features(series)
    daily = seasonal_naive_baselines(24)["naiveDaily"].predict(features)
    in_gap = (features.positions >= 31 * 24) & (features.positions < 31 * 24 + 12)
    assert in_gap.sum() == 12
    consumption = series.frame["consumption"].to_numpy()
    assert daily[in_gap].tolist() == consumption[features.positions[in_gap] - 48].tolist()
    assert np.isfinite(daily).all()


def test_a_gap_longer_than_the_fallback_leaves_the_baseline_without_a_forecast() -> None:
    values = 10.0 + np.arange(40 * 24, dtype=float) % 24
    values[25 * 24 : 30 * 24] = np.nan  # five days: more than FALLBACK_PERIODS days back
    features = _features(hourly_series(values))
    daily = seasonal_naive_baselines(24)["naiveDaily"].predict(features)
    weekly = seasonal_naive_baselines(24)["naiveWeekly"].predict(features)
    # the days 29 and 30 find all four days before them in the gap
    lost = (features.positions >= 29 * 24) & (features.positions < 31 * 24)
    assert np.isnan(daily[lost]).all()
    assert np.isfinite(daily[features.positions >= 31 * 24]).all()
    assert np.isfinite(weekly[features.positions >= 30 * 24]).all()  # from two weeks back


def test_a_lag_before_the_series_has_no_forecast() -> None:
    features = _features(hourly_series(np.ones(40 * 24)))
    far = SeasonalNaive(int(features.positions[0]) + 1)
    forecast = far.predict(features)
    assert np.isnan(forecast[0])
    assert forecast[1] == 1.0


def test_fitting_a_baseline_learns_nothing() -> None:
    features = _features(hourly_series(5.0 + np.sin(np.arange(40 * 24))))
    baseline: Forecaster = SeasonalNaive(24)  # the models' interface
    before = baseline.predict(features)
    baseline.fit(features, np.arange(10, dtype=np.int64))
    np.testing.assert_array_equal(baseline.predict(features), before)


@pytest.mark.parametrize("lag", [0, -24], ids=["zero", "negative"])
def test_a_lag_must_be_a_step_or_more(lag: int) -> None:
    with pytest.raises(ValueError, match="at least one step"):
        SeasonalNaive(lag)
