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
