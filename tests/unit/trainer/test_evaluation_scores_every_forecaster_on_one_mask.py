"""One evaluation scores every forecaster on the same points, as utilsforecast's evaluate."""

from __future__ import annotations

import numpy as np
import pytest
from prepared_series import hourly_series

from wattcast.crd import ModelSpec
from wattcast.forecasting.baselines import seasonal_naive_baselines
from wattcast.forecasting.errors import DataInsufficientError, TrainerError
from wattcast.forecasting.features.building import build_features
from wattcast.forecasting.features.configuration import FeatureConfig
from wattcast.forecasting.forecasters import Forecaster
from wattcast.forecasting.preparation import PreparedSeries
from wattcast.trainer.evaluation import error_metrics, evaluate, scoring_mask
from wattcast.trainer.holdout import HoldoutForecasts
from wattcast.trainer.training import score_holdout


def test_a_point_one_forecaster_skips_is_skipped_for_all() -> None:
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    valid = np.array([True, True, True, False])
    forecasts = {"a": np.array([1.5, np.nan, 3.0, 4.0]), "b": np.array([0.0, 2.0, 2.0, 9.0])}
    evaluation = evaluate(actual, forecasts, valid=valid)
    assert evaluation.mask.tolist() == [True, False, True, False]
    assert evaluation.points == 2
    for name, values in forecasts.items():
        expected = error_metrics(actual[[0, 2]], values[[0, 2]])
        assert evaluation.scores[name] == expected
    assert list(evaluation.scores) == ["a", "b"]


def test_an_explicit_mask_is_used_as_given() -> None:
    actual = np.array([1.0, 2.0, 3.0])
    mask = np.array([False, True, True])
    evaluation = evaluate(actual, {"a": np.array([9.0, 2.0, 4.0])}, mask=mask)
    assert evaluation.scores["a"].mae == pytest.approx(0.5)
    assert evaluation.mask is mask


def test_no_point_left_or_mismatched_forecasts_are_refused() -> None:
    actual = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="no points"):
        evaluate(actual, {"a": np.array([np.nan, np.nan])}, valid=np.array([True, True]))
    with pytest.raises(ValueError, match="3 forecasts for 2 points"):
        scoring_mask(np.array([True, True]), {"a": np.zeros(3)})
    with pytest.raises(ValueError, match="valid or mask"):
        evaluate(actual, {"a": actual})


def _holdout(series: PreparedSeries, forecast: np.ndarray) -> HoldoutForecasts:
    n = len(series.frame)
    positions = np.arange(n - len(forecast), n, dtype=np.int64)
    return HoldoutForecasts(
        positions=positions,
        forecast=forecast,
        horizon_step=(np.arange(len(forecast), dtype=np.int64) % 24) + 1,
    )


def test_the_model_and_the_baselines_are_scored_on_the_same_holdout_points() -> None:
    values = 10.0 + (np.arange(42 * 24, dtype=float) % 24)
    values[-30:-24] = np.nan  # missing in the holdout: interpolated, never scored
    series = hourly_series(values)
    config = FeatureConfig.from_spec(ModelSpec(), 24, timezone="UTC", holidays="none")
    features = build_features(series, config, scale_until=len(values) - 48)
    baselines: dict[str, Forecaster] = dict(seasonal_naive_baselines(24))
    holdout = _holdout(series, np.full(48, 12.0))
    metrics, plotted, scored = score_holdout(series, features, holdout, baselines)
    assert scored.sum() == 42 == metrics.holdout.points
    consumption = series.frame["consumption"].to_numpy()
    actual = consumption[holdout.positions]
    assert metrics.model == error_metrics(actual[scored], holdout.forecast[scored])
    # y(t-24h) of the cleaned series: the interpolated hours the day before count as forecasts.
    daily = consumption[holdout.positions - 24]
    assert metrics.baselines["naiveDaily"] == error_metrics(actual[scored], daily[scored])
    assert metrics.baselines["naiveDaily"].mae > 0
    assert list(metrics.baselines) == ["naiveDaily", "naiveWeekly"]
    assert list(plotted) == ["timestamps", "actual", "forecast", "naiveDaily", "naiveWeekly"]
    assert plotted["actual"].count(None) == 6


def test_a_diverged_model_or_an_unscorable_holdout_fails_the_training() -> None:
    series = hourly_series(10.0 + (np.arange(42 * 24, dtype=float) % 24))
    config = FeatureConfig.from_spec(ModelSpec(), 24, timezone="UTC", holidays="none")
    features = build_features(series, config, scale_until=len(series.frame) - 48)
    baselines: dict[str, Forecaster] = dict(seasonal_naive_baselines(24))
    diverged = np.full(48, 1.0)
    diverged[3] = np.inf
    with pytest.raises(TrainerError, match="non-finite"):
        score_holdout(series, features, _holdout(series, diverged), baselines)

    gappy = 10.0 + (np.arange(42 * 24, dtype=float) % 24)
    gappy[-48:] = np.nan
    series = hourly_series(gappy)
    features = build_features(series, config, scale_until=len(series.frame) - 48)
    with pytest.raises(DataInsufficientError, match="no valid points in the holdout"):
        score_holdout(series, features, _holdout(series, np.ones(48)), baselines)
