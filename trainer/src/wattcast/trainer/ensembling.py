"""Selection by validation: five forecasters combined, in one Keras model (issue 15).

The candidates, all fitted on the same training rows before the validation days:

- the **network** (seasonal-residual: its gated anchor blend plus its correction);
- the **seasonal blend**: the anchors' nonnegative blend fitted for the mean absolute error,
  no network at all (deterministic; what the network degrades towards when data is short).
  No weight floor (a daily profile blind to the weekend, ten times worse than the best anchor
  on national demand, cost it 6 % at the 0.02 a least-squares convex blend gave it), and the
  absolute error's fit sits at the median, below the mean for a household's skewed hours;
- a **linear model** of every feature (standardised as the network sees them), fitted for the
  mean absolute error (iteratively reweighted least squares with a small ridge penalty; a
  closed form, deterministic, milliseconds);
- two **double-seasonal** anchors on their own (STATISTICAL): Taylor's double seasonal
  exponential smoothing, and the last point's level with patterns measured against a smooth
  trend (MSTL's structure). They need no fit. The blend is fitted on every training row, weeks
  in which a weekly profile fits the past well; offered on their own, the validation days can
  choose the statistical forecaster directly (national demand, three holdouts: 1.13x MSTL on
  average with the blend, 1.03x with them; docs/trainer.md).

The combination's weights are the convex ones (a grid of 0.1 steps: with five candidates a finer
grid chose weights from the validation days' noise) with the lowest MAE on the validation days,
the chronologically last part of the training data that early stopping also watches. The
seasonal blend and the linear model are then fitted again on all the training rows (the
validation days are the most recent ones: with a few weeks of data they matter). On a holiday
row (HOLIDAY_FLAGS) the output is the network's alone: only it sees the holidays, and the
validation days rarely hold enough of them to weigh the others there. The saved model computes
the weighted sum of the five from the same two inputs as the network, with
built-in Keras layers only, so it is one artifact the forecasting path loads and runs like any
other (`forecaster.kind: keras`).

Why: on national demand (10 weeks, half-hourly) the network alone depended on its seed by a
third and lost to MSTL; the deterministic candidates keep most of its wins elsewhere while
taking over where it overfits (docs/trainer.md has the figures).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import numpy.typing as npt

from wattcast.forecasting.features.building import ANCHORS, FeatureSet
from wattcast.forecasting.inputs import model_inputs
from wattcast.trainer.keras_backend import load_keras

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

STATISTICAL = ("doubleSeasonal", "doubleSeasonalSmoothTrend")
CANDIDATES = ("network", "seasonalBlend", "linear", *STATISTICAL)
GRID_STEP = 0.1
LINEAR_L2 = 1.0
# The days the anchors know nothing of: a holiday target day, or one whose anchors were read on
# a holiday. There the forecast is the network's alone (it sees these flags); the weights are
# chosen on the other validation rows.
HOLIDAY_FLAGS = ("holiday", "holidayLagDay", "holidayLagWeek")
_IRLS_ITERATIONS = 8


@dataclass(frozen=True)
class Combination:
    """The weights of CANDIDATES and each candidate's validation MAE (scaled units)."""

    weights: tuple[float, ...]
    validation_mae: dict[str, float]
    combined_mae: float


def standardisation(features: npt.NDArray[Any], rows: IntArray) -> tuple[FloatArray, FloatArray]:
    """Mean and standard deviation of the rows, as the network's Normalization layer has them
    (a feature constant in training keeps a deviation of 1)."""
    chosen = features[rows].astype(np.float64)
    mean = chosen.mean(axis=0)
    variance = chosen.var(axis=0)
    variance = np.where(variance < 1e-6, 1.0, variance)
    return mean, np.sqrt(variance)


def absolute_error_fit(
    design: FloatArray,
    target: FloatArray,
    solve: Callable[[FloatArray, FloatArray, FloatArray | None], FloatArray],
) -> FloatArray:
    """Coefficients minimising the absolute error by iteratively reweighted least squares:
    `solve(design, target, row_weights)` (a weighted squared-error fit) repeated with weights
    1 / |residual|, the residuals floored at a thousandth of the target's mean magnitude."""
    coefficients = solve(design, target, None)
    floor = 1e-3 * (np.mean(np.abs(target)) + 1e-9)
    for _ in range(_IRLS_ITERATIONS):
        residual = np.abs(design @ coefficients - target)
        coefficients = solve(design, target, 1.0 / np.maximum(residual, floor))
    return coefficients


def linear_fit(x: FloatArray, y: FloatArray, l2: float = LINEAR_L2) -> tuple[FloatArray, float]:
    """Weights and intercept minimising the absolute error (IRLS) plus an l2 penalty."""
    design = np.column_stack([x, np.ones(len(x))])
    penalty = l2 * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0

    def ridge(d: FloatArray, t: FloatArray, w: FloatArray | None) -> FloatArray:
        weighted = d if w is None else d * w[:, None]
        return np.asarray(np.linalg.solve(weighted.T @ d + penalty, weighted.T @ t), np.float64)

    weights = absolute_error_fit(design, y, ridge)
    coefficients: FloatArray = np.asarray(weights[:-1], dtype=np.float64)
    return coefficients, float(weights[-1])


def nonnegative_least_squares(
    design: FloatArray, target: FloatArray, weights: FloatArray | None = None
) -> FloatArray:
    """Nonnegative coefficients minimising the (row-weighted) squared error: Lawson and
    Hanson's active-set method (scipy's `nnls` would bring scipy into the trainer image for a
    dozen columns)."""
    root = np.ones(len(target)) if weights is None else np.sqrt(weights)
    a, y = design * root[:, None], target * root
    columns = a.shape[1]
    x = np.zeros(columns)
    free = np.zeros(columns, dtype=bool)  # the columns allowed off zero
    tolerance = 1e-10 * max(1.0, float(np.abs(a.T @ y).max(initial=0.0)))
    for _ in range(3 * columns):
        gradient = a.T @ (y - a @ x)
        if free.all() or gradient[~free].max() <= tolerance:
            break
        free[np.flatnonzero(~free)[np.argmax(gradient[~free])]] = True
        while True:
            trial = np.zeros(columns)
            trial[free] = np.linalg.lstsq(a[:, free], y, rcond=None)[0]
            if (trial[free] > 0).all():
                x = trial
                break
            # step from x towards the trial as far as every coefficient stays >= 0
            blocking = free & (trial <= 0)
            step = np.min(x[blocking] / (x[blocking] - trial[blocking]))
            x = x + step * (trial - x)
            free &= x > tolerance
            x[~free] = 0.0
    return x


def blend_fit(anchors: npt.NDArray[Any], target: FloatArray) -> FloatArray:
    """Nonnegative anchor weights minimising the absolute error (IRLS over the rows where
    every anchor and the target are known)."""
    usable = np.isfinite(target) & np.all(np.isfinite(anchors), axis=1)
    return absolute_error_fit(
        anchors[usable].astype(np.float64), target[usable], nonnegative_least_squares
    )


def simplex_grid(columns: int, step: float = GRID_STEP) -> FloatArray:
    """Every convex weighting of `columns` candidates in steps of `step`, one per row."""
    steps = round(1 / step)
    rows = [
        (*head, steps - sum(head))
        for head in product(range(steps + 1), repeat=columns - 1)
        if sum(head) <= steps
    ]
    return np.array(rows, dtype=np.float64) / steps


def choose(candidates: FloatArray, target: FloatArray) -> Combination:
    """The convex weights (grid of GRID_STEP) of the candidate columns with the lowest MAE."""
    best: tuple[float, FloatArray] | None = None
    for weights in simplex_grid(candidates.shape[1]):
        mae = float(np.mean(np.abs(candidates @ weights - target)))
        if best is None or mae < best[0] - 1e-12:
            best = (mae, weights)
    assert best is not None
    per = {
        name: float(np.mean(np.abs(candidates[:, i] - target))) for i, name in enumerate(CANDIDATES)
    }
    return Combination(
        weights=tuple(float(w) for w in best[1]), validation_mae=per, combined_mae=best[0]
    )


def combine(
    network: Any, features: FeatureSet, fit_rows: IntArray, val_rows: IntArray, model_type: Any
) -> tuple[Any, Combination]:
    """The Keras model forecasting the chosen combination, and the choice."""
    keras, _ = load_keras()
    layers = keras.layers
    anchor_columns = [features.feature_names.index(name) for name in ANCHORS]
    statistical_columns = [features.feature_names.index(name) for name in STATISTICAL]
    if not np.array_equal(features.features[:, anchor_columns], features.anchors):
        raise ValueError("the anchors are not among the features")
    blend = blend_fit(features.anchors[fit_rows], features.target[fit_rows])
    mean, std = standardisation(features.features, fit_rows)
    x = (features.features.astype(np.float64) - mean) / std
    linear_w, linear_b = linear_fit(x[fit_rows], features.target[fit_rows])
    val_inputs = model_inputs(model_type, features, val_rows)
    # A network of several towers forecasts one column each: the candidate is their mean.
    net_val = np.asarray(network(val_inputs), dtype=np.float64).mean(axis=-1)
    candidates = np.column_stack(
        [
            net_val,
            features.anchors[val_rows].astype(np.float64) @ blend,
            x[val_rows] @ linear_w + linear_b,
            features.features[val_rows][:, statistical_columns].astype(np.float64),
        ]
    )
    holiday_columns = [features.feature_names.index(n) for n in HOLIDAY_FLAGS]
    ordinary = features.features[val_rows][:, holiday_columns].max(axis=1) == 0
    if not ordinary.any():
        ordinary[:] = True
    choice = choose(candidates[ordinary], features.target[val_rows][ordinary])
    rows = np.concatenate([fit_rows, val_rows])
    blend = blend_fit(features.anchors[rows], features.target[rows])
    linear_w, linear_b = linear_fit(x[rows], features.target[rows])

    # The network's own inputs (features and anchors; the window and features for lstm). The
    # blend reads the anchors from the features, whose first columns they are.
    inputs = {
        name: keras.Input(shape=value.shape[1:], name=name) for name, value in val_inputs.items()
    }
    towers = int(network.output.shape[-1])
    fixed = _fixed_layer(layers)
    width = features.features.shape[1]
    from_network = fixed("tower_mean", np.full((towers, 1), 1.0 / towers), network(inputs))
    from_blend = fixed(
        "seasonal_blend", _kernel(width, anchor_columns, blend[:, None]), inputs["features"]
    )
    normalise = layers.Normalization(
        axis=-1, mean=mean.tolist(), variance=(std**2).tolist(), name="linear_normalise"
    )
    linear_layer = layers.Dense(1, trainable=False, name="linear")
    from_linear = linear_layer(normalise(inputs["features"]))
    linear_layer.set_weights(
        [linear_w.reshape(-1, 1).astype(np.float32), np.array([linear_b], dtype=np.float32)]
    )
    from_statistical = fixed(
        "double_seasonal",
        _kernel(width, statistical_columns, np.eye(len(STATISTICAL))),
        inputs["features"],
    )
    stacked = layers.Concatenate(name="candidates")(
        [from_network, from_blend, from_linear, from_statistical]
    )
    combined = fixed("selection_weights", np.array(choice.weights)[:, None], stacked)
    # 1 on a holiday row (any flag set), else 0: the output is the network's there.
    flags = fixed(
        "holiday_flags",
        _kernel(width, holiday_columns, np.ones((len(holiday_columns), 1))),
        inputs["features"],
    )
    on_holiday = layers.ReLU(max_value=1.0, name="on_holiday")(flags)
    to_network = layers.Subtract(name="network_less_combined")([from_network, combined])
    output = layers.Add(name="holidays_to_network")(
        [combined, layers.Multiply(name="holiday_share")([on_holiday, to_network])]
    )
    model = keras.Model(inputs=inputs, outputs=output, name="selected_by_validation")
    return model, choice


def _kernel(width: int, rows: list[int], values: npt.NDArray[Any]) -> FloatArray:
    """A (width, outputs) kernel that is `values` at `rows` (feature columns) and 0 elsewhere."""
    kernel = np.zeros((width, values.shape[1]))
    kernel[rows] = values
    return kernel


def _fixed_layer(layers: Any) -> Callable[[str, FloatArray, Any], Any]:
    """`fixed(name, kernel, x)`: x through a frozen bias-free Dense layer with that kernel."""

    def fixed(name: str, kernel: FloatArray, x: Any) -> Any:
        layer = layers.Dense(kernel.shape[1], use_bias=False, trainable=False, name=name)
        out = layer(x)
        layer.set_weights([kernel.astype(np.float32)])
        return out

    return fixed
