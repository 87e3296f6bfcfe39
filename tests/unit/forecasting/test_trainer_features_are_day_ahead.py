"""Features never see past the forecast origin: the day-ahead rule of docs/design.md §6."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wattcast.crd import MeterType, ModelSpec
from wattcast.forecasting.features.building import build_features
from wattcast.forecasting.features.calendar import easter_sunday, holiday_flags
from wattcast.forecasting.features.configuration import FeatureConfig
from wattcast.forecasting.preparation import prepare

START = pd.Timestamp("2024-01-01T00:00:00Z")


def _series(values: np.ndarray) -> object:
    index = pd.date_range(START, periods=len(values), freq="1h", name="time")
    frame = pd.DataFrame(
        {"consumption": values, "temperature": np.linspace(0, 10, len(values))}, index=index
    )
    return prepare(
        frame,
        start=START,
        end=index[-1] + pd.Timedelta(hours=1),
        freq=pd.Timedelta(hours=1),
        meter_type=MeterType.ELECTRICITY,
        max_gap_hours=6,
        min_days=1,
    )


def test_changing_data_after_an_origin_leaves_that_days_features_unchanged() -> None:
    rng = np.random.default_rng(3)
    days = 40
    base = 1.0 + rng.random(days * 24)
    config = FeatureConfig.from_spec(ModelSpec(), 24, timezone="Europe/Berlin", holidays="DE")
    origin = 30 * 24  # midnight UTC of day 30
    changed = base.copy()
    changed[origin:] += 5.0  # the future: everything from the origin on
    a = build_features(_series(base), config, scale_until=origin)  # type: ignore[arg-type]
    b = build_features(_series(changed), config, scale_until=origin)  # type: ignore[arg-type]
    rows = np.flatnonzero((a.positions >= origin) & (a.positions < origin + 24))
    assert len(rows) == 24
    assert a.horizon_step[rows].tolist() == list(range(1, 25))
    # Everything but the target-time temperature (a weather-forecast stand-in) is identical.
    np.testing.assert_allclose(a.features[rows], b.features[rows], rtol=1e-6)
    np.testing.assert_allclose(a.anchors[rows], b.anchors[rows], rtol=1e-6)
    assert not np.allclose(a.target[rows], b.target[rows])


def test_easter_and_german_holidays() -> None:
    assert str(easter_sunday(2024)) == "2024-03-31"
    assert str(easter_sunday(2025)) == "2025-04-20"
    days = np.array(["2024-03-29", "2024-04-01", "2024-04-02", "2024-10-03"], dtype="datetime64[D]")
    assert holiday_flags(days, "DE").tolist() == [1.0, 1.0, 0.0, 1.0]
    assert holiday_flags(days, "none").tolist() == [0.0] * 4
