"""Input standardisation shared by the models, safe for features constant in training."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def normalisation(keras: Any, features: npt.NDArray[np.float32], train: npt.NDArray[Any]) -> Any:
    """A Normalization layer with the training rows' mean and variance.

    A feature constant in training (a holiday flag when no holiday fell into it) keeps a
    variance of 1: Keras would divide by its epsilon, and the first holiday in the holdout
    would become a value of ten million.
    """
    rows = features[train].astype(np.float64)
    mean = rows.mean(axis=0)
    variance = rows.var(axis=0)
    variance = np.where(variance < 1e-6, 1.0, variance)
    return keras.layers.Normalization(
        axis=-1, mean=mean.tolist(), variance=variance.tolist(), name="normalise"
    )


# Both models standardise the input of this name with the layer of this name (a meter's mean
# and variance, as constants): what the shared training graphs of the trainer rely on.
NORMALISED_INPUT = "features"
NORMALISATION_LAYER = "normalise"


def standardised(model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """`inputs` with the normalised input standardised as `model`'s layer would (float32)."""
    layer = model.get_layer(NORMALISATION_LAYER)
    mean = np.asarray(layer.input_mean, np.float32)
    scale = np.maximum(np.sqrt(np.asarray(layer.input_variance, np.float32)), 1e-7)
    values = np.asarray(inputs[NORMALISED_INPUT], np.float32)
    return {**inputs, NORMALISED_INPUT: (values - mean) / scale}


def without_normalisation(keras: Any, model: Any) -> Any:
    """A copy of `model` whose normalisation is the identity, for inputs already
    `standardised`: it has the same weights in the same order, and nothing in it is
    particular to one meter but the weights."""

    def clone(layer: Any) -> Any:
        if layer.name == NORMALISATION_LAYER:
            width = len(layer.input_mean)
            return keras.layers.Normalization(
                axis=-1, mean=[0.0] * width, variance=[1.0] * width, name=layer.name
            )
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    optimizer = model.optimizer
    copy.compile(optimizer=optimizer.__class__.from_config(optimizer.get_config()), loss=model.loss)
    return copy
