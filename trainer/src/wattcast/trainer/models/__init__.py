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
from wattcast.forecasting.features.building import FeatureSet
from wattcast.trainer.models import lstm, seasonal_residual

_BUILDERS: dict[ModelType, Callable[[ModelSpec, FeatureSet, npt.NDArray[np.bool_]], Any]] = {
    ModelType.SEASONAL_RESIDUAL: seasonal_residual.build,
    ModelType.LSTM: lstm.build,
}


def build_model(spec: ModelSpec, features: FeatureSet, train: npt.NDArray[np.bool_]) -> Any:
    """A compiled, untrained Keras model of `spec.type`; normalisation adapted on `train` rows."""
    return _BUILDERS[spec.type](spec, features, train)
