"""The default model: seasonal-naive anchors blended by learned weights, plus a correction.

forecast = softmax-gate(features) · anchors + MLP(features)

The anchors (y one day and one/two weeks back, smoothed daily and weekly profiles, double-seasonal
smoothing; see :mod:`wattcast.forecasting.features`) start as their plain mean and the
correction head starts at zero, so the untrained model already is a seasonal ensemble.
Training makes the blend depend on the inputs (a Monday trusts last week more than yesterday;
a day after a holiday too) and lets a small network (two layers, 64 and 32 units) correct it
from the recent level, the calendar and the temperature. Loss: mean absolute error, the
measure we report.

The network is TOWERS such models side by side, one output column each; the saved model
forecasts their mean (ensembling.py).

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
# Weight decay at a meter-year and more. Measured (seeds 0-2, five series, docs/trainer.md):
# 1e-5 left each fit depending on its seed (3-11 % spread) and the correction overfitting
# what validation showed it; 3e-4 was better on every series and within 1.5 % on all but
# national demand, 3e-3 was too much (regional 23 against 18).
L2 = 3e-4
# A meter-year of hourly training samples: below it, weight decay scales up.
REFERENCE_SAMPLES = 7000
EMA_MOMENTUM = 0.99
# Independent towers (own weights, own initialisation, own loss) trained side by side in one
# graph; the forecast is their mean (ensembling.py). Averaging them removes most of what one
# network's fit depends on its seed (docs/trainer.md), for about twice one tower's fit time,
# not TOWERS times: their layers are fused.
TOWERS = 4


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
    standardised = normalise(inputs)
    regulariser = keras.regularizers.L2(decay)
    # The towers' layers are fused: one kernel of shape (towers, in, out) per layer, applied by
    # an einsum, so a step costs a few large operations rather than many small ones. The
    # initialiser scale keeps each tower's Glorot variance (the fans count every tower).
    per_tower = keras.initializers.VarianceScaling(
        scale=TOWERS, mode="fan_avg", distribution="uniform"
    )
    hidden = layers.EinsumDense(
        "bi,tio->bto",
        output_shape=(TOWERS, HIDDEN_UNITS[0]),
        bias_axes="to",
        activation="relu",
        kernel_initializer=per_tower,
        kernel_regularizer=regulariser,
        name="hidden_1",
    )(standardised)
    for number, units in enumerate(HIDDEN_UNITS[1:], start=2):
        hidden = layers.EinsumDense(
            "bti,tio->bto",
            output_shape=(TOWERS, units),
            bias_axes="to",
            activation="relu",
            kernel_initializer=per_tower,
            kernel_regularizer=regulariser,
            name=f"hidden_{number}",
        )(hidden)
    correction = layers.EinsumDense(
        "bti,ti->bt",
        output_shape=(TOWERS,),
        bias_axes="t",
        kernel_initializer="zeros",
        kernel_regularizer=regulariser,
        name="correction",
    )(hidden)
    # The blend's weights depend on the inputs (weekday, holidays, horizon...): per tower a
    # softmax gate that starts as the plain mean of the anchors. Measured against starting
    # from their least-squares blend of the training data: that start put 0.5-0.6 of the
    # weight on one anchor (the double-seasonal one from the last point) and the towers
    # hardly left it, 5-8 % worse on the regional meter; from the mean they learn where to
    # trust which anchor (docs/trainer.md).
    gate = layers.EinsumDense(
        "bi,tia->bta",
        output_shape=(TOWERS, n_anchors),
        bias_axes="ta",
        activation="softmax",
        kernel_initializer="zeros",
        kernel_regularizer=regulariser,
        name="blend_weights",
    )(standardised)
    blend = layers.Dot(axes=(2, 1), name="blend")([gate, anchors])
    # One column per tower; the mean absolute error against the target broadcast over the
    # columns is the mean of the towers' own losses, so each tower fits on its own.
    output = layers.Add(name="tower_forecasts")([blend, correction])
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
