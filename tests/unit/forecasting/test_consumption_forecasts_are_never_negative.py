"""A consumption that cannot be negative is never forecast below zero (issue 15): a water meter
with many zero hours, whatever its model forecasts, through the one forecasting path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wattcast.crd import MeterType, ModelSpec, Resolution
from wattcast.forecasting.features.building import FeatureSet
from wattcast.forecasting.features.configuration import FeatureConfig, record, training_scaling
from wattcast.forecasting.predicting import Predictor, forecast_frame
from wattcast.forecasting.preparation import prepare
from wattcast.trainer.holdout import non_negative

START = pd.Timestamp("2024-01-01T00:00:00Z")


class _Undershooting:
    """A forecaster that goes below zero at night, as a network fitted on zero hours does."""

    def predict(self, features: FeatureSet) -> np.ndarray:
        hours = features.times.hour.to_numpy()
        return np.where(hours < 8, -0.3, 1.5).astype(np.float64)


def _water(days: int) -> pd.DataFrame:
    hours = np.arange(days * 24)
    values = np.where(hours % 24 < 8, 0.0, 2.0 + np.sin(hours / 5.0))  # a third of hours: zero
    index = pd.date_range(START, periods=len(values), freq="1h", name="time")
    return pd.DataFrame({"consumption": values}, index=index)


@pytest.mark.parametrize("meter_type", [MeterType.WATER, MeterType.ELECTRICITY])
def test_a_meter_with_many_zero_hours_gets_no_negative_forecast(meter_type: MeterType) -> None:
    raw = _water(60)
    series = prepare(
        raw,
        start=START,
        end=raw.index[-1] + pd.Timedelta(hours=1),
        freq=pd.Timedelta(hours=1),
        meter_type=meter_type,
        max_gap_hours=6,
        min_days=1,
    )
    config = FeatureConfig.from_spec(ModelSpec(), 24, timezone="Europe/Berlin", holidays="DE")
    split = len(series.frame) - 7 * 24
    assert non_negative(series, meter_type, split)
    predictor = Predictor(
        forecaster=_Undershooting(),
        features=record(config, training_scaling(series, config, split), (), max_gap_hours=6),
        meter_type=meter_type,
        resolution=Resolution.HOUR_1,
        interval=None,
        non_negative=non_negative(series, meter_type, split),
    )
    _, point, lower, upper = forecast_frame(predictor, raw, series.frame.index[split], 24)
    assert point.min() == 0.0 and lower.min() >= 0.0 and upper.min() >= 0.0
    assert (point == 0.0).sum() == 8  # the night hours: an exact zero, not a small negative
