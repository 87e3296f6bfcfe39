"""Training a compiled Keras model with whole epochs as graphs and early stopping.

Keras's `fit` pays, for every model, a tf.data pipeline and iterator per epoch, a train step
traced twice (the last, partial batch retraces it) and an evaluate step with its own pipeline.
For the small networks here those costs were more than half of a meter's fit (docs/trainer.md).
Here the data is already in memory as tensors; one `tf.function` runs a whole epoch (its batch
loop and the partial last batch inside the graph) and another the validation loss, each traced
once per model.

What `fit` with `EarlyStopping(restore_best_weights=True)` and `SwapEMAWeights` did is kept:
- `loss` is the mean of the batch losses weighted by batch size, where a batch loss is the
  model's compiled loss plus its regularisation (`Model.compute_loss`);
- `val_loss` is the same loss on all validation rows, computed with the optimizer's moving
  average of the weights when it keeps one (the weights that get saved);
- after `patience` epochs without a lower `val_loss` training stops, and the model keeps the
  best epoch's weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from wattcast.trainer.keras_backend import load_keras

Arrays = Mapping[str, npt.NDArray[Any]]
# (epoch, epochs, loss, val_loss, eta seconds): what the progress reporter shows per epoch.
EpochCallback = Callable[[int, int, float | None, float | None, int | None], None]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def train(
    model: Any,
    fit: tuple[Arrays, npt.NDArray[np.float32]],
    validation: tuple[Arrays, npt.NDArray[np.float32]],
    *,
    epochs: int,
    batch_size: int,
    patience: int,
    seed: int,
    on_epoch: EpochCallback | None = None,
) -> dict[str, list[float]]:
    """Train `model` in place; returns the history {"loss": [...], "val_loss": [...]}."""
    load_keras()
    import tensorflow as tf

    fit_x = {name: tf.constant(values) for name, values in fit[0].items()}
    fit_y = tf.constant(fit[1])
    val_x = {name: tf.constant(values) for name, values in validation[0].items()}
    val_y = tf.constant(validation[1])
    n_fit = int(fit[1].shape[0])
    optimizer = model.optimizer
    weights = model.trainable_variables
    # Built here, eagerly: both create variables, which a graph's loop may not.
    optimizer.build(weights)
    model.compute_loss(y=val_y[:1], y_pred=model({k: v[:1] for k, v in val_x.items()}))

    def train_epoch(order: Any) -> Any:
        total = tf.constant(0.0)
        for start in tf.range(0, n_fit, batch_size):
            rows = order[start : start + batch_size]
            x = {name: tf.gather(values, rows) for name, values in fit_x.items()}
            y = tf.gather(fit_y, rows)
            with tf.GradientTape() as tape:
                loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
            optimizer.apply(tape.gradient(loss, weights), weights)
            total += loss * tf.cast(tf.shape(rows)[0], tf.float32)
        return total / n_fit

    def validate() -> Any:
        y_pred = model(val_x, training=False)
        return model.compute_loss(x=val_x, y=val_y, y_pred=y_pred, training=False)

    run_epoch, validation_loss = tf.function(train_epoch), tf.function(validate)

    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"loss": [], "val_loss": []}
    best_loss, best_weights, waited = math.inf, None, 0
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loss = float(run_epoch(tf.constant(rng.permutation(n_fit).astype(np.int32))))
        training_weights = [w.numpy() for w in weights]
        optimizer.finalize_variable_values(weights)  # the moving average, if it keeps one
        val_loss = float(validation_loss())
        history["loss"].append(loss)
        history["val_loss"].append(val_loss)
        if val_loss < best_loss:
            best_loss, best_weights, waited = val_loss, model.get_weights(), 0
        else:
            waited += 1
        for weight, value in zip(weights, training_weights, strict=True):
            weight.assign(value)
        if on_epoch is not None:
            eta = round((time.perf_counter() - started) / epoch * (epochs - epoch))
            on_epoch(epoch, epochs, _finite(loss), _finite(val_loss), eta)
        if waited >= patience:
            break
    if best_weights is None:  # no finite validation loss: the last epoch's weights
        optimizer.finalize_variable_values(weights)
    else:
        model.set_weights(best_weights)
    return history
