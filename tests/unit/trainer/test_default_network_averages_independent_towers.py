"""The default network is TOWERS independent towers in one graph, each fitted on its own loss,
and the saved model forecasts their mean (issue 15: the seed spread)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from prepared_series import hourly_series

from wattcast.crd import ModelSpec
from wattcast.forecasting.features.building import FeatureSet, build_features
from wattcast.forecasting.features.configuration import FeatureConfig
from wattcast.forecasting.inputs import model_inputs
from wattcast.trainer.ensembling import combine
from wattcast.trainer.fitting import NetworkForecaster, validation_split
from wattcast.trainer.keras_backend import load_keras
from wattcast.trainer.models import build_model
from wattcast.trainer.models.seasonal_residual import TOWERS

SPEC = ModelSpec(holdout_days=7, epochs=3, use_temperature=False)


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    hours = np.arange(42 * 24)
    rng = np.random.default_rng(4)
    values = 1.0 + np.sin(2 * np.pi * hours / 24) ** 2 + rng.gamma(2.0, 0.1, len(hours))
    series = hourly_series(values)
    config = FeatureConfig.from_spec(SPEC, 24, timezone="Europe/Berlin", holidays="DE")
    return build_features(series, config, scale_until=len(series.frame))


def _rows(features: FeatureSet) -> Any:
    return np.flatnonzero(np.isfinite(features.target))


def test_the_towers_start_as_the_mean_of_the_anchors_and_do_not_touch_each_other(
    features: FeatureSet,
) -> None:
    load_keras()
    train = np.isfinite(features.target)
    model = build_model(SPEC, features, train)
    inputs = model_inputs(SPEC.type, features, _rows(features)[:50])
    before = np.asarray(model(inputs))
    assert before.shape == (50, TOWERS)
    # untrained, every tower is the plain mean of the anchors (no correction yet)
    mean_of_anchors = features.anchors[_rows(features)[:50]].mean(axis=1, keepdims=True)
    np.testing.assert_allclose(before, mean_of_anchors.repeat(TOWERS, axis=1), rtol=1e-5)

    # a change to the second tower's weights moves its forecast only
    layer = model.get_layer("correction")
    kernel, bias = layer.get_weights()
    kernel[1] = 1.0
    layer.set_weights([kernel, bias])
    after = np.asarray(model(inputs))
    assert not np.allclose(after[:, 1], before[:, 1])
    np.testing.assert_array_equal(np.delete(after, 1, axis=1), np.delete(before, 1, axis=1))


def test_trained_towers_differ_and_the_combination_takes_their_mean(
    features: FeatureSet,
) -> None:
    rows = _rows(features)
    network = NetworkForecaster(SPEC, 24)
    network.fit(features, rows)
    inputs = model_inputs(SPEC.type, features, rows[-48:])
    towers = np.asarray(network.model(inputs), dtype=np.float64)
    # different initial weights, each tower its own loss: they end apart
    assert np.ptp(towers, axis=1).max() > 1e-4

    fit_rows, val_rows = validation_split(rows, 24)
    combined, choice = combine(network.model, features, fit_rows, val_rows, SPEC.type)
    mean = combined.get_layer("tower_mean").get_weights()[0]
    np.testing.assert_allclose(mean, np.full((TOWERS, 1), 1.0 / TOWERS))
    assert np.asarray(combined(inputs)).shape == (48, 1)
    # the network's validation MAE is that of the towers' mean
    val_inputs = model_inputs(SPEC.type, features, val_rows)
    averaged = np.asarray(network.model(val_inputs), dtype=np.float64).mean(axis=1)
    assert choice.validation_mae["network"] == pytest.approx(
        float(np.mean(np.abs(averaged - features.target[val_rows]))), rel=1e-6
    )
