"""The default model is the network, the seasonal blend, a linear model and the two
double-seasonal anchors combined by their validation MAE, saved as one Keras model the
forecasting path loads (issue 15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wattcast.crd import MeterType, ModelSpec, ModelType
from wattcast.forecasting.features.building import build_features
from wattcast.forecasting.features.configuration import FeatureConfig, training_scaling
from wattcast.forecasting.inputs import model_inputs
from wattcast.forecasting.preparation import PreparedSeries, prepare
from wattcast.trainer.ensembling import (
    CANDIDATES,
    HOLIDAY_FLAGS,
    STATISTICAL,
    blend_fit,
    choose,
    combine,
    linear_fit,
    nonnegative_least_squares,
    simplex_grid,
)
from wattcast.trainer.fitting import validation_split
from wattcast.trainer.holdout import holdout_start
from wattcast.trainer.keras_backend import load_keras, third_party_warnings_silenced
from wattcast.trainer.training import train

START = pd.Timestamp("2024-01-01T00:00:00Z")


def test_the_choice_is_the_convex_weighting_with_the_least_validation_error() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=500)
    noise = (1.0, 0.5, 2.0, 0.1, 0.8)  # the fourth candidate is the accurate one
    candidates = np.column_stack([target + rng.normal(0, sd, 500) for sd in noise])
    choice = choose(candidates, target)
    assert len(choice.weights) == len(CANDIDATES)
    assert sum(choice.weights) == pytest.approx(1.0)
    assert choice.weights[3] >= 0.8  # the accurate candidate carries the combination
    assert choice.combined_mae <= min(choice.validation_mae.values()) + 1e-12
    assert list(choice.validation_mae) == list(CANDIDATES)
    # no weighting on the grid does better
    grid = simplex_grid(len(CANDIDATES))
    errors = np.abs(candidates @ grid.T - target[:, None]).mean(axis=0)
    assert choice.combined_mae == pytest.approx(errors.min())


def test_the_grid_holds_every_convex_weighting_once() -> None:
    halves = {tuple(row) for row in simplex_grid(3, 0.5).tolist()}
    assert halves == {
        (0.0, 0.0, 1.0),
        (0.0, 0.5, 0.5),
        (0.0, 1.0, 0.0),
        (0.5, 0.0, 0.5),
        (0.5, 0.5, 0.0),
        (1.0, 0.0, 0.0),
    }
    grid = simplex_grid(5, 0.1)
    assert len(grid) == len({tuple(row) for row in grid.tolist()}) == 1001  # (14 choose 4)
    assert (grid >= 0).all()
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)


def test_the_linear_model_fits_the_absolute_error_and_ignores_outliers() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 3.0
    y[::20] += 50.0  # one point in twenty far off
    weights, intercept = linear_fit(x, y, l2=1e-6)
    np.testing.assert_allclose(weights, [1.0, -2.0, 0.5], atol=0.05)
    assert intercept == pytest.approx(3.0, abs=0.1)


def test_nonnegative_least_squares_drops_the_columns_that_would_go_negative() -> None:
    rng = np.random.default_rng(3)
    design = rng.normal(size=(300, 4))
    target = design @ np.array([2.0, 0.0, 0.5, 0.0]) - 1.5 * design[:, 3]
    solution = nonnegative_least_squares(design, target)
    assert (solution >= 0).all()
    assert solution[3] == 0.0  # least squares would give it -1.5
    unconstrained, *_ = np.linalg.lstsq(design, target, rcond=None)
    assert unconstrained[3] < -1.0
    # the rest is the least-squares fit of the columns kept
    kept, *_ = np.linalg.lstsq(design[:, :3], target, rcond=None)
    np.testing.assert_allclose(solution[:3], kept, atol=1e-9)


def test_the_seasonal_blend_fits_the_absolute_error_with_no_floor_for_bad_anchors() -> None:
    rng = np.random.default_rng(4)
    truth = 5.0 + np.sin(np.arange(600) * 2 * np.pi / 24)
    anchors = np.column_stack(
        [truth + rng.normal(0, 0.05, 600), truth + rng.normal(0, 0.5, 600), np.roll(truth, 12)]
    )
    target = truth.copy()
    target[::25] += 40.0  # one hour in twenty-five far off: squared error would chase it
    anchors[7, 1] = np.nan  # a row with an unknown anchor is left out, not propagated
    weights = blend_fit(anchors, target)
    assert (weights >= 0).all() and np.isfinite(weights).all()
    assert weights[0] > 0.9  # the accurate anchor carries the blend
    assert weights[2] < 5e-3  # an anchor out of phase gets nothing, not a floor's share (0.02)
    # the far-off hours do not pull it: it is the blend of the clean target
    np.testing.assert_allclose(weights, blend_fit(anchors, truth), atol=0.02)
    known = np.isfinite(anchors).all(axis=1) & (np.abs(target - truth) < 1.0)
    assert np.mean(np.abs(anchors[known] @ weights - target[known])) < 0.06


def _water(days: int, start: pd.Timestamp = START) -> pd.DataFrame:
    hours = np.arange(days * 24)
    rng = np.random.default_rng(2)
    busy = (hours % 24 >= 7) & (hours % 24 < 22)
    values = np.where(busy, rng.gamma(1.5, 0.4, len(hours)), 0.0)  # zero all night
    index = pd.date_range(start, periods=len(values), freq="1h", name="time")
    return pd.DataFrame({"consumption": values}, index=index)


def _prepared(raw: pd.DataFrame) -> PreparedSeries:
    return prepare(
        raw,
        start=raw.index[0],
        end=raw.index[-1] + pd.Timedelta(hours=1),
        freq=pd.Timedelta(hours=1),
        meter_type=MeterType.WATER,
        max_gap_hours=6,
        min_days=1,
    )


@pytest.mark.parametrize("model_type", [ModelType.SEASONAL_RESIDUAL, ModelType.LSTM])
def test_a_water_meter_is_trained_combined_saved_as_one_model_and_never_negative(
    tmp_path: Path, model_type: ModelType
) -> None:
    raw = _water(60)
    series = _prepared(raw)
    spec = ModelSpec(type=model_type, holdout_days=7, epochs=2, use_temperature=False)
    config = FeatureConfig.from_spec(spec, 24, timezone="Europe/Berlin", holidays="DE")
    outcome = train(series, spec, config, raw=raw, meter_type=MeterType.WATER)
    assert outcome.combination is not None
    assert sum(outcome.combination.weights) == pytest.approx(1.0)
    # every holdout forecast through the forecasting path: never below zero, zeros at night
    assert outcome.holdout.forecast.min() >= 0.0
    assert (outcome.holdout.forecast == 0.0).any()
    assert outcome.metrics.holdout.points == 7 * 24

    keras, _ = load_keras()
    path = tmp_path / "model.keras"
    with third_party_warnings_silenced():  # Keras' own DeprecationWarnings under numpy 2
        outcome.model.save(path)
        loaded = keras.models.load_model(path, compile=False)
        expected = np.asarray(outcome.model.predict(outcome.sample_inputs, verbose=0))
        actual = np.asarray(loaded.predict(outcome.sample_inputs, verbose=0))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in loaded.layers if layer.name == "selection_weights"]

    # the statistical candidates are the double-seasonal anchors themselves, and the output is
    # the chosen weighting of the five candidates
    candidates = keras.Model(loaded.inputs, loaded.get_layer("candidates").output)
    columns = np.asarray(candidates(outcome.sample_inputs), dtype=np.float64)
    split = holdout_start(series, 7, config.horizon)
    features = build_features(series, config, scaling=training_scaling(series, config, split))
    rows = np.flatnonzero(features.positions >= split)[: len(columns)]
    for i, name in enumerate(STATISTICAL):
        anchor = features.features[rows, features.feature_names.index(name)]
        np.testing.assert_allclose(columns[:, 3 + i], anchor, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        columns @ np.array(outcome.combination.weights), actual[:, 0], rtol=1e-4, atol=1e-5
    )


def test_on_holidays_the_saved_model_forecasts_the_networks_own() -> None:
    # A network that forecasts nothing loses the selection on ordinary days; on a holiday (May
    # Day in the last week) and the days whose anchors were read on one, whatever the weights,
    # the combined model gives the network's forecast, as the anchors know nothing of holidays.
    series = _prepared(_water(60, pd.Timestamp("2024-03-04T00:00:00Z")))
    config = FeatureConfig.from_spec(
        ModelSpec(use_temperature=False), 24, timezone="Europe/Berlin", holidays="DE"
    )
    features = build_features(series, config, scale_until=len(series.frame) - 7 * 24)
    rows = np.flatnonzero(np.isfinite(features.target))
    fit_rows, val_rows = validation_split(rows[: -7 * 24], 24)
    keras, _ = load_keras()
    inputs = {
        name: keras.Input(shape=value.shape[1:], name=name)
        for name, value in model_inputs(ModelType.SEASONAL_RESIDUAL, features, rows[:1]).items()
    }
    silent = keras.layers.Dense(1, kernel_initializer="zeros", use_bias=False)
    network = keras.Model(inputs, silent(inputs["features"]))
    model, choice = combine(network, features, fit_rows, val_rows, ModelType.SEASONAL_RESIDUAL)
    assert choice.weights[0] < 0.5  # the silent network loses on ordinary days

    last_week = rows[-7 * 24 :]
    output = np.asarray(model(model_inputs(ModelType.SEASONAL_RESIDUAL, features, last_week)))
    flags = [features.feature_names.index(name) for name in HOLIDAY_FLAGS]
    on_holiday = features.features[last_week][:, flags].max(axis=1) > 0
    assert on_holiday.sum() >= 24 and (~on_holiday).sum() >= 24
    np.testing.assert_array_equal(output[on_holiday, 0], 0.0)
    assert (output[~on_holiday, 0] > 0).mean() > 0.5  # the seasonal candidates' water by day
