"""The default model: seasonal-naive anchors blended by learned weights, plus a correction.

forecast = softmax-gate(features) · anchors + MLP(features)

The anchors (y one day and one/two weeks back, smoothed daily and weekly profiles; see
:mod:`wattcast.forecasting.features`) start blended by the least-squares weights of the training
data, and the correction head starts at zero, so the untrained model already is a sound
seasonal ensemble. Training makes the blend depend on the inputs (a Monday trusts last week
more than yesterday; a day after a holiday too) and lets a small network (two layers, 64 and
32 units) correct it from the recent level, the calendar and the temperature. Loss: mean
absolute error, the measure we report.

Why this and not a plain LSTM: measured on regional demand a 32-unit LSTM lost to weekly-naive
and to MSTL and took 45-90 s; starting from the seasonal structure makes the network's job a
small correction, which a few thousand samples learn in seconds (docs/trainer.md has figures).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from wattcast.crd import ModelSpec
from wattcast.forecasting.features.building import FeatureSet
from wattcast.trainer.keras_backend import load_keras
from wattcast.trainer.models.normalising import normalisation

HIDDEN_UNITS = (64, 32)
L2 = 1e-5
# A meter-year of hourly training samples: below it, weight decay scales up.
REFERENCE_SAMPLES = 7000
EMA_MOMENTUM = 0.99


def initial_blend(anchors: npt.NDArray[np.float32], target: npt.NDArray[np.float64]) -> Any:
    """Convex weights of the anchors fitted by least squares (clipped, summing to one)."""
    n_anchors = anchors.shape[1]
    usable = np.isfinite(target) & np.all(np.isfinite(anchors), axis=1)
    if usable.sum() < 10 * n_anchors:
        return np.full(n_anchors, 1.0 / n_anchors)
    weights, *_ = np.linalg.lstsq(anchors[usable].astype(np.float64), target[usable], rcond=None)
    weights = np.clip(weights, 0.02, None)
    return weights / weights.sum()


def build(spec: ModelSpec, features: FeatureSet, train: npt.NDArray[np.bool_]) -> Any:
    keras, _ = load_keras()
    layers = keras.layers
    n_features = features.features.shape[1]
    n_anchors = features.anchors.shape[1]

    inputs = keras.Input(shape=(n_features,), name="features")
    anchors = keras.Input(shape=(n_anchors,), name="anchors")
    normalise = normalisation(keras, features.features, train)
    # Weight decay grows as data shrinks: with a few weeks of data the network may only nudge
    # the seasonal blend, with a year it may learn real corrections. It moves in steps of
    # 2^(1/4) (19 %), so that meters of about the same length share one traced training graph
    # (trainer/graph_cache.py); so do the explicit layer names.
    n_train = max(1, int(train.sum()))
    decay = L2 * 2 ** (round(4 * math.log2(max(1.0, REFERENCE_SAMPLES / n_train))) / 4)
    hidden = normalise(inputs)
    for number, units in enumerate(HIDDEN_UNITS, start=1):
        hidden = layers.Dense(
            units,
            activation="relu",
            kernel_regularizer=keras.regularizers.L2(decay),
            name=f"hidden_{number}",
        )(hidden)
    correction = layers.Dense(
        1,
        kernel_initializer="zeros",
        kernel_regularizer=keras.regularizers.L2(decay),
        name="correction",
    )(hidden)
    # The blend's weights depend on the inputs (weekday, holidays, horizon...): a softmax gate
    # that starts as the least-squares blend of the training data, the same for every sample.
    gate = layers.Dense(
        n_anchors,
        activation="softmax",
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(
            np.log(initial_blend(features.anchors[train], features.target[train]))
        ),
        kernel_regularizer=keras.regularizers.L2(decay),
        name="blend_weights",
    )(normalise(inputs))
    blend = layers.Dot(axes=1, name="blend")([gate, anchors])
    output = layers.Add(name="forecast")([blend, correction])
    model = keras.Model(
        inputs={"features": inputs, "anchors": anchors}, outputs=output, name="seasonal_residual"
    )
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=spec.learning_rate, use_ema=True, ema_momentum=EMA_MOMENTUM
        ),
        loss="mean_absolute_error",
    )
    return model
