"""The named inputs a saved Keras model of each `spec.model.type` takes, from a FeatureSet."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from wattcast.crd import ModelType
from wattcast.forecasting.features.building import FeatureSet

Inputs = dict[str, npt.NDArray[np.float32]]


def model_inputs(model_type: ModelType, features: FeatureSet, rows: npt.NDArray[Any]) -> Inputs:
    """The named inputs of `rows` for a model of `model_type`."""
    inputs: Inputs = {
        "features": features.features[rows],
        "anchors": features.anchors[rows],
    }
    if model_type == ModelType.LSTM:
        if features.window is None:
            raise ValueError("the lstm model needs the lookback window (FeatureConfig.with_window)")
        inputs = {"window": features.window[rows][..., None], "features": inputs["features"]}
    return inputs
