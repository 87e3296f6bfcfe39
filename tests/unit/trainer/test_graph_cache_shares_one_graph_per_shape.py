"""Meters of one network shape share one traced training graph (trainer/graph_cache), and a
meter trained through it ends exactly where its own network, trained alone, would."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from wattcast.trainer import graph_cache
from wattcast.trainer.epoch_loop import EpochLoop
from wattcast.trainer.keras_backend import load_keras
from wattcast.trainer.models.normalising import NORMALISATION_LAYER, NORMALISED_INPUT

OPTIONS: dict[str, Any] = {"epochs": 6, "patience": 2, "seed": 3}


def meter_network(mean: list[float], variance: list[float], seed: int, l2: float = 1e-3) -> Any:
    """A network like the trainer's: a meter's normalisation, L2, the weight average."""
    keras, _ = load_keras()
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(3,), name=NORMALISED_INPUT)
    normalise = keras.layers.Normalization(
        axis=-1, mean=mean, variance=variance, name=NORMALISATION_LAYER
    )
    hidden = keras.layers.Dense(
        4, activation="relu", kernel_regularizer=keras.regularizers.L2(l2), name="hidden"
    )(normalise(inputs))
    output = keras.layers.Dense(1, name="forecast")(hidden)
    model = keras.Model(inputs={NORMALISED_INPUT: inputs}, outputs=output, name="meter")
    optimizer = keras.optimizers.Adam(learning_rate=0.05, use_ema=True, ema_momentum=0.9)
    model.compile(optimizer=optimizer, loss="mean_absolute_error")
    return model


def meter_data(level: float, seed: int) -> tuple[Any, Any, list[float], list[float]]:
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(120, 3)) * [1.0, 10.0, 0.1] + [0.0, level, 5.0]).astype(np.float32)
    y = (x @ np.array([1.0, 0.1, -2.0]) + level).astype(np.float32)
    mean, variance = x[:100].mean(axis=0).tolist(), x[:100].var(axis=0).tolist()
    return x, y, mean, variance


def trained(shared: bool, level: float, seed: int) -> tuple[Any, dict[str, list[float]]]:
    x, y, mean, variance = meter_data(level, seed)
    model = meter_network(mean, variance, seed)
    fit, validation = ({NORMALISED_INPUT: x[:100]}, y[:100]), ({NORMALISED_INPUT: x[100:]}, y[100:])
    if shared:
        history = graph_cache.train_shared(model, fit, validation, batch_size=16, **OPTIONS)
    else:
        loop = EpochLoop(model, 16, {NORMALISED_INPUT: (3,)})
        history = loop.train(fit, validation, **OPTIONS)
    return model, history


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    graph_cache._local.loops = None


def test_meters_of_one_shape_share_one_graph_and_start_afresh() -> None:
    trained(shared=True, level=50.0, seed=1)  # another meter first: its optimizer state
    second, second_history = trained(shared=True, level=-20.0, seed=2)
    assert len(graph_cache._local.loops) == 1
    alone, alone_history = trained(shared=False, level=-20.0, seed=2)
    for key in ("loss", "val_loss"):
        assert second_history[key] == pytest.approx(alone_history[key], rel=1e-4)
    for mine, reference in zip(second.get_weights(), alone.get_weights(), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-5)
    for mine, reference in zip(second.optimizer.variables, alone.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(reference), rtol=1e-4, atol=1e-5)


def test_other_regularisation_or_batches_get_their_own_graph() -> None:
    _, _, mean, variance = meter_data(1.0, 0)
    key = graph_cache.graph_key(meter_network(mean, variance, 0), 16)
    assert graph_cache.graph_key(meter_network([9.0] * 3, [4.0] * 3, 5), 16) == key
    assert graph_cache.graph_key(meter_network(mean, variance, 0), 32) != key
    assert graph_cache.graph_key(meter_network(mean, variance, 0, l2=1e-2), 16) != key
