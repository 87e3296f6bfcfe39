"""The forecasting models a TrainingJob can ask for (`spec.model.type`).

- ``seasonal-residual`` (default, :mod:`.seasonal_residual`): a learned blend of seasonal-naive
  anchors plus a small network's correction.
- ``lstm`` (:mod:`.lstm`): a recurrent network over the lookback window.

Both are built from built-in Keras layers only, so `keras.models.load_model` reads a saved
model without any of our code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from wattcast.crd import ModelSpec, ModelType
from wattcast.trainer.features import FeatureSet
from wattcast.trainer.models import lstm, seasonal_residual

Inputs = dict[str, npt.NDArray[np.float32]]

_BUILDERS: dict[ModelType, Callable[[ModelSpec, FeatureSet, npt.NDArray[np.bool_]], Any]] = {
    ModelType.SEASONAL_RESIDUAL: seasonal_residual.build,
    ModelType.LSTM: lstm.build,
}


def build_model(spec: ModelSpec, features: FeatureSet, train: npt.NDArray[np.bool_]) -> Any:
    """A compiled, untrained Keras model of `spec.type`; normalisation adapted on `train` rows."""
    return _BUILDERS[spec.type](spec, features, train)


def model_inputs(model_type: ModelType, features: FeatureSet, rows: npt.NDArray[Any]) -> Inputs:
    """The named inputs of `rows` for a model of `model_type`."""
    inputs: Inputs = {
        "features": features.features[rows],
        "anchors": features.anchors[rows],
    }
    if model_type == ModelType.LSTM:
        if features.window is None:
            raise ValueError("the lstm model needs the lookback window (with_window=True)")
        inputs = {"window": features.window[rows][..., None], "features": inputs["features"]}
    return inputs


def needs_window(model_type: ModelType) -> bool:
    return model_type == ModelType.LSTM
