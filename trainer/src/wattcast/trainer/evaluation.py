"""Scoring forecasters: every one on the same points, with the same measures (docs/design.md §6).

As utilsforecast's `evaluate` scores every model column of one frame, :func:`evaluate` scores
a set of forecasts of the same targets at once: a point counts only where the actual is an
observed, valid point (never an interpolated or missing one) and every forecaster has a
forecast, so no forecaster is scored on points another one skipped. The measures are those of
the contract's :class:`~wattcast.crd.ErrorMetrics`: MAE, RMSE and sMAPE.

The trainer scores its model and the seasonal-naive baselines on the holdout with it, and
the promotion gate the current version on the same points (promoting.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wattcast.crd import ErrorMetrics

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def error_metrics(actual: FloatArray, forecast: FloatArray) -> ErrorMetrics:
    """MAE, RMSE and sMAPE (0..200 %; a point where both are zero counts as no error)."""
    if len(actual) == 0:
        raise ValueError("no points to score")
    error = forecast - actual
    denominator = np.abs(actual) + np.abs(forecast)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denominator > 0, 2.0 * np.abs(error) / denominator, 0.0)
    return ErrorMetrics(
        mae=float(np.mean(np.abs(error))),
        rmse=float(math.sqrt(float(np.mean(error**2)))),
        smape=min(200.0, 100.0 * float(np.mean(ratio))),
    )


def scoring_mask(valid: BoolArray, forecasts: Mapping[str, FloatArray]) -> BoolArray:
    """The points every forecaster is scored on: a valid actual and a finite forecast of each."""
    mask = np.asarray(valid, dtype=bool).copy()
    for values in forecasts.values():
        if len(values) != len(mask):
            raise ValueError(f"{len(values)} forecasts for {len(mask)} points")
        mask &= np.isfinite(values)
    return mask


@dataclass(frozen=True)
class Evaluation:
    """The scores of each forecaster, by name, and the points they were computed on."""

    scores: dict[str, ErrorMetrics]
    mask: BoolArray

    @property
    def points(self) -> int:
        return int(self.mask.sum())


def evaluate(
    actual: FloatArray,
    forecasts: Mapping[str, FloatArray],
    *,
    valid: BoolArray | None = None,
    mask: BoolArray | None = None,
) -> Evaluation:
    """Every forecast of `actual` scored on the same points: `mask` if given, else
    :func:`scoring_mask` of `valid`. ValueError when no point is left."""
    if mask is None:
        if valid is None:
            raise ValueError("evaluate needs valid or mask")
        mask = scoring_mask(valid, forecasts)
    if not mask.any():
        raise ValueError("no points to score")
    scores = {name: error_metrics(actual[mask], values[mask]) for name, values in forecasts.items()}
    return Evaluation(scores=scores, mask=mask)
