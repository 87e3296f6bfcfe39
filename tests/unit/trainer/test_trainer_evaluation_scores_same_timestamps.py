"""Holdout metrics: error measures and the holdout's start at an origin (the baselines and the
shared scoring mask: tests/unit/forecasting/, tests/unit/trainer/)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wattcast.crd import MeterType
from wattcast.forecasting.preparation import prepare
from wattcast.trainer.evaluation import error_metrics
from wattcast.trainer.holdout import holdout_start

START = pd.Timestamp("2024-01-01T00:00:00Z")


def _series(days: int, offset_hours: int = 0) -> object:
    index = pd.date_range(
        START + pd.Timedelta(hours=offset_hours), periods=days * 24, freq="1h", name="time"
    )
    values = np.arange(len(index), dtype=float) + 1.0
    frame = pd.DataFrame({"consumption": values}, index=index)
    return prepare(
        frame,
        start=index[0],
        end=index[-1] + pd.Timedelta(hours=1),
        freq=pd.Timedelta(hours=1),
        meter_type=MeterType.ELECTRICITY,
        max_gap_hours=6,
        min_days=1,
    )


def test_error_measures() -> None:
    metrics = error_metrics(np.array([1.0, 2.0, 0.0]), np.array([2.0, 2.0, 0.0]))
    assert metrics.mae == pytest.approx(1 / 3)
    assert metrics.rmse == pytest.approx(np.sqrt(1 / 3))
    # sMAPE: 2|e|/(|a|+|f|) = 2/3 for the first point, 0 for the others (0/0 counts as 0).
    assert metrics.smape == pytest.approx(100 * (2 / 3) / 3)


def test_error_measures_need_points() -> None:
    with pytest.raises(ValueError, match="no points"):
        error_metrics(np.array([]), np.array([]))


def test_the_holdout_starts_at_the_next_origin() -> None:
    series = _series(30, offset_hours=5)  # the range starts at 05:00 UTC
    split = holdout_start(series, 7, 24)  # type: ignore[arg-type]
    first = series.frame.index[split]  # type: ignore[attr-defined]
    assert first.hour == 0
    assert (series.frame.index[-1] - first) < pd.Timedelta(days=7)  # type: ignore[attr-defined]
