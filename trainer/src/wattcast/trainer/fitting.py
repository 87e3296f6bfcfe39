"""The networks as Forecasters: build the Keras model of `spec.model.type` and fit it.

Training samples are the valid points before the holdout; the chronologically last part of
them (15 %, at least a week, at most a third) is the validation set for early stopping, so the
weights kept are those that forecast unseen days best. Predictions are the saved model's
(:class:`wattcast.forecasting.forecasters.KerasForecaster`), so the trainer forecasts with
exactly what it saves.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from wattcast.crd import ModelSpec
from wattcast.forecasting.features.building import FeatureSet
from wattcast.forecasting.forecasters import KerasForecaster
from wattcast.forecasting.inputs import model_inputs
from wattcast.trainer.epoch_loop import EpochCallback
from wattcast.trainer.graph_cache import train_shared
from wattcast.trainer.keras_backend import load_keras
from wattcast.trainer.models import build_model

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

VALIDATION_FRACTION = 0.15
EARLY_STOPPING_PATIENCE = 4


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
        started = time.perf_counter()
        self.history = train_shared(
            model,
            fit=(
                model_inputs(spec.type, features, fit_rows),
                features.target[fit_rows].astype(np.float32),
            ),
            validation=(
                model_inputs(spec.type, features, val_rows),
                features.target[val_rows].astype(np.float32),
            ),
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            patience=EARLY_STOPPING_PATIENCE,
            seed=spec.seed,
            on_epoch=self.on_epoch,
        )
        self.fit_seconds = time.perf_counter() - started
        self.model = model

    def predict(self, features: FeatureSet) -> FloatArray:
        if self.model is None:
            raise ValueError("predict before fit: the network has no weights yet")
        return KerasForecaster(self.model, self.spec.type).predict(features)
