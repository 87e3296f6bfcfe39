"""The networks as Forecasters: build the Keras model of `spec.model.type` and fit it.

Training samples are the valid points before the holdout; the chronologically last part of
them (15 %, at least a week, at most a third) is the validation set for early stopping, so the
weights kept are those that forecast unseen days best. Predictions are the saved model's
(:class:`wattcast.forecasting.forecasters.KerasForecaster`), so the trainer forecasts with
exactly what it saves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from wattcast.crd import ModelSpec
from wattcast.forecasting.features.building import FeatureSet
from wattcast.forecasting.forecasters import KerasForecaster
from wattcast.forecasting.inputs import model_inputs
from wattcast.trainer.keras_backend import load_keras
from wattcast.trainer.models import build_model

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

VALIDATION_FRACTION = 0.15
EARLY_STOPPING_PATIENCE = 4
# (epoch, epochs, loss, val_loss, eta seconds): what the progress reporter shows per epoch.
EpochCallback = Callable[[int, int, float | None, float | None, int | None], None]


def _epoch_callback(keras: Any, on_epoch: EpochCallback | None, epochs: int) -> Any:
    class _Progress(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            if on_epoch is None:
                return
            logs = logs or {}
            done = epoch + 1
            elapsed = time.perf_counter() - self._started
            eta = round(elapsed / done * (epochs - done))
            loss = logs.get("loss")
            val_loss = logs.get("val_loss")
            on_epoch(
                done,
                epochs,
                None if loss is None or not math.isfinite(loss) else float(loss),
                None if val_loss is None or not math.isfinite(val_loss) else float(val_loss),
                eta,
            )

    return _Progress()


def validation_split(rows: IntArray, steps_per_day: int) -> tuple[IntArray, IntArray]:
    """The rows to fit on and the chronologically last ones to validate on."""
    n_val = max(7 * steps_per_day, int(len(rows) * VALIDATION_FRACTION))
    n_val = min(n_val, len(rows) // 3)
    return rows[:-n_val], rows[-n_val:]


class NetworkForecaster:
    """A Keras network of `spec.type`: `fit` builds and trains it, `predict` forecasts."""

    def __init__(
        self, spec: ModelSpec, steps_per_day: int, on_epoch: EpochCallback | None = None
    ) -> None:
        self.spec = spec
        self.steps_per_day = steps_per_day
        self.on_epoch = on_epoch
        self.model: Any = None
        self.history: dict[str, list[float]] = {"loss": [], "val_loss": []}
        self.fit_seconds = 0.0

    @property
    def epochs_run(self) -> int:
        return len(self.history["loss"])

    def fit(self, features: FeatureSet, rows: IntArray) -> None:
        keras, _ = load_keras()
        spec = self.spec
        keras.utils.set_random_seed(spec.seed)
        fit_rows, val_rows = validation_split(rows, self.steps_per_day)
        fit_mask = np.zeros(len(features.target), dtype=bool)
        fit_mask[fit_rows] = True
        model = build_model(spec, features, fit_mask)
        callbacks = []
        if getattr(model.optimizer, "use_ema", False):
            callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
        callbacks += [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=EARLY_STOPPING_PATIENCE, restore_best_weights=True
            ),
            _epoch_callback(keras, self.on_epoch, spec.epochs),
        ]
        started = time.perf_counter()
        history = model.fit(
            model_inputs(spec.type, features, fit_rows),
            features.target[fit_rows].astype(np.float32),
            validation_data=(
                model_inputs(spec.type, features, val_rows),
                features.target[val_rows].astype(np.float32),
            ),
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            shuffle=True,
            verbose=0,
            callbacks=callbacks,
        )
        self.fit_seconds = time.perf_counter() - started
        self.model = model
        self.history = {
            "loss": [float(v) for v in history.history.get("loss", [])],
            "val_loss": [float(v) for v in history.history.get("val_loss", [])],
        }

    def predict(self, features: FeatureSet) -> FloatArray:
        if self.model is None:
            raise ValueError("predict before fit: the network has no weights yet")
        return KerasForecaster(self.model, self.spec.type).predict(features)
