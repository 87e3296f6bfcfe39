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


class EpochLoop:
    """A compiled model's training and validation graphs, traced once: the data are arguments,
    so every data set of the same input shapes (rows may differ) reuses them."""

    def __init__(self, model: Any, batch_size: int, input_shapes: Mapping[str, tuple[int, ...]]):
        load_keras()
        import tensorflow as tf

        self.model = model
        optimizer = model.optimizer
        weights = model.trainable_variables
        # Built here, eagerly: both create variables, which a graph's loop may not.
        optimizer.build(weights)
        zeros = {name: np.zeros((1, *shape), np.float32) for name, shape in input_shapes.items()}
        model.compute_loss(y=np.zeros((1, 1), np.float32), y_pred=model(zeros))
        self._fresh_optimizer = [v.numpy() for v in optimizer.variables]

        def train_epoch(x_all: Any, y_all: Any, order: Any) -> Any:
            n_rows = tf.shape(order)[0]
            total = tf.constant(0.0)
            for start in tf.range(0, n_rows, batch_size):
                rows = order[start : start + batch_size]
                x = {name: tf.gather(values, rows) for name, values in x_all.items()}
                y = tf.gather(y_all, rows)
                with tf.GradientTape() as tape:
                    loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
                optimizer.apply(tape.gradient(loss, weights), weights)
                total += loss * tf.cast(tf.shape(rows)[0], tf.float32)
            return total / tf.cast(n_rows, tf.float32)

        def validate(x: Any, y: Any) -> Any:
            y_pred = model(x, training=False)
            return model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)

        x_spec = {
            name: tf.TensorSpec((None, *shape), tf.float32) for name, shape in input_shapes.items()
        }
        y_spec = tf.TensorSpec((None, 1), tf.float32)
        order_spec = tf.TensorSpec((None,), tf.int32)
        self._run_epoch = tf.function(train_epoch, input_signature=[x_spec, y_spec, order_spec])
        self._validation_loss = tf.function(validate, input_signature=[x_spec, y_spec])

    def train(
        self,
        fit: tuple[Arrays, npt.NDArray[np.float32]],
        validation: tuple[Arrays, npt.NDArray[np.float32]],
        *,
        epochs: int,
        patience: int,
        seed: int,
        on_epoch: EpochCallback | None = None,
    ) -> dict[str, list[float]]:
        """Train from the model's current weights and a fresh optimizer; returns the history
        {"loss": [...], "val_loss": [...]} and leaves the best epoch's weights in the model."""
        model, optimizer = self.model, self.model.optimizer
        weights = model.trainable_variables
        for variable, value in zip(optimizer.variables, self._fresh_optimizer, strict=True):
            variable.assign(value)
        fit_x, fit_y = _float32(fit)
        val_x, val_y = _float32(validation)
        rng = np.random.default_rng(seed)
        history: dict[str, list[float]] = {"loss": [], "val_loss": []}
        best_loss, best_weights, waited = math.inf, None, 0
        started = time.perf_counter()
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(fit_y)).astype(np.int32)
            loss = float(self._run_epoch(fit_x, fit_y, order))
            training_weights = [w.numpy() for w in weights]
            optimizer.finalize_variable_values(weights)  # the moving average, if it keeps one
            val_loss = float(self._validation_loss(val_x, val_y))
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


def _float32(
    data: tuple[Arrays, npt.NDArray[Any]],
) -> tuple[dict[str, npt.NDArray[np.float32]], npt.NDArray[np.float32]]:
    inputs, target = data
    # The target as a column, so that it broadcasts over a model's output columns (towers).
    column = np.asarray(target, np.float32).reshape(-1, 1)
    return {k: np.asarray(v, np.float32) for k, v in inputs.items()}, column
