"""A prepared hourly series from plain values, as the trainer's preparation makes it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wattcast.crd import MeterType
from wattcast.forecasting.preparation import PreparedSeries, prepare

START = pd.Timestamp("2024-01-01T00:00:00Z")


def hourly_series(values: np.ndarray, start: pd.Timestamp = START) -> PreparedSeries:
    """`values` from `start` on, hourly, prepared (gaps up to 6 h bridged, no minimum length)."""
    index = pd.date_range(start, periods=len(values), freq="1h", name="time")
    return prepare(
        pd.DataFrame({"consumption": values}, index=index),
        start=start,
        end=index[-1] + pd.Timedelta(hours=1),
        freq=pd.Timedelta(hours=1),
        meter_type=MeterType.ELECTRICITY,
        max_gap_hours=6,
        min_days=1,
    )
