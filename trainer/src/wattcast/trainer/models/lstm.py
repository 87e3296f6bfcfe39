"""The `lstm` model: a recurrent network over the lookback window, plus calendar features.

Kept selectable for comparison (spec.model.type: lstm). Day-ahead like the default: the window
ends at the forecast origin. Slower and, on our synthetic benchmark, less accurate than
seasonal-residual (docs/trainer.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from wattcast.crd import ModelSpec
from wattcast.forecasting.features.building import FeatureSet
from wattcast.trainer.keras_backend import load_keras
from wattcast.trainer.models.normalising import normalisation

UNITS = 32


def build(spec: ModelSpec, features: FeatureSet, train: npt.NDArray[np.bool_]) -> Any:
    keras, _ = load_keras()
    layers = keras.layers
    if features.window is None:
        raise ValueError("the lstm model needs the lookback window")
    lookback = features.window.shape[1]
    window = keras.Input(shape=(lookback, 1), name="window")
    inputs = keras.Input(shape=(features.features.shape[1],), name="features")
    normalise = normalisation(keras, features.features, train)
    encoded = layers.LSTM(UNITS, name="encoder")(window)
    merged = layers.Concatenate(name="merged")([encoded, normalise(inputs)])
    hidden = layers.Dense(32, activation="relu", name="hidden")(merged)
    output = layers.Dense(1, name="forecast")(hidden)
    model = keras.Model(inputs={"window": window, "features": inputs}, outputs=output, name="lstm")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=spec.learning_rate),
        loss="mean_absolute_error",
    )
    return model
