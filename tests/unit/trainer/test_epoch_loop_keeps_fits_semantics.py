"""The epoch loop keeps what Keras's `fit` with early stopping and EMA did (trainer/epoch_loop).

A one-weight linear model makes every expectation computable by hand: the loss of an epoch
that cannot move the weights, the epoch training must stop at, and the weights it must keep.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from wattcast.trainer.epoch_loop import EpochLoop
from wattcast.trainer.keras_backend import load_keras


def linear_model(learning_rate: float, use_ema: bool = False) -> Any:
    keras, _ = load_keras()
    inputs = keras.Input(shape=(1,), name="x")
    output = keras.layers.Dense(1, kernel_initializer="zeros", use_bias=False)(inputs)
    model = keras.Model(inputs={"x": inputs}, outputs=output)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, use_ema=use_ema)
    model.compile(optimizer=optimizer, loss="mean_absolute_error")
    return model


def train(model: Any, fit: Any, validation: Any, *, batch_size: int, **options: Any) -> Any:
    return EpochLoop(model, batch_size, {"x": (1,)}).train(fit, validation, **options)


def data(slope: float, n: int, seed: int = 0) -> tuple[dict[str, Any], Any]:
    x = np.random.default_rng(seed).uniform(1.0, 2.0, size=(n, 1)).astype(np.float32)
    return {"x": x}, (slope * x[:, 0]).astype(np.float32)


def val_mae(model: Any, validation: tuple[dict[str, Any], Any]) -> float:
    predicted = np.asarray(model(validation[0]))[:, 0]
    return float(np.mean(np.abs(predicted - validation[1])))


def test_the_loss_covers_every_row_including_the_partial_last_batch() -> None:
    fit = data(3.0, 103)  # 103 rows in batches of 10: the last batch has 3
    model = linear_model(learning_rate=1e-12)  # weights stay (practically) at zero
    history = train(model, fit, data(3.0, 20, 1), epochs=2, batch_size=10, patience=4, seed=0)
    expected = float(np.mean(np.abs(fit[1])))
    assert history["loss"] == pytest.approx([expected, expected], rel=1e-5)


def test_training_stops_after_patience_and_keeps_the_best_epoch() -> None:
    # Fitting y = 3x while validation wants y = 0.5x: validation improves while the weight
    # passes 0.5 and worsens after, so training stops `patience` epochs after its best.
    validation = data(0.5, 50, 1)
    model = linear_model(learning_rate=0.01)  # about 0.1 per epoch of 10 steps
    history = train(model, data(3.0, 200), validation, epochs=60, batch_size=20, patience=3, seed=0)
    val_losses = history["val_loss"]
    best = int(np.argmin(val_losses))
    assert 0 < best < 57
    assert len(val_losses) == best + 1 + 3
    assert len(history["loss"]) == len(val_losses)
    assert val_mae(model, validation) == pytest.approx(val_losses[best], rel=1e-5)


def test_with_ema_the_validation_loss_and_the_kept_weights_are_the_averages() -> None:
    validation = data(3.0, 50, 1)
    model = linear_model(learning_rate=0.05, use_ema=True)
    history = train(model, data(3.0, 200), validation, epochs=5, batch_size=20, patience=4, seed=0)
    averages = [np.asarray(v) for v in model.optimizer._model_variables_moving_average]
    assert np.allclose([np.asarray(w) for w in model.trainable_variables], averages)
    assert val_mae(model, validation) == pytest.approx(min(history["val_loss"]), rel=1e-5)


def test_same_seed_same_history_and_progress_every_epoch() -> None:
    reports: list[tuple[int, int]] = []
    histories = [
        train(
            linear_model(learning_rate=0.01),
            data(3.0, 64),
            data(3.0, 16, 1),
            epochs=4,
            batch_size=8,
            patience=4,
            seed=7,
            on_epoch=lambda epoch, epochs, *_: reports.append((epoch, epochs)),
        )
        for _ in range(2)
    ]
    assert histories[0] == histories[1]
    assert reports == [(1, 4), (2, 4), (3, 4), (4, 4)] * 2
