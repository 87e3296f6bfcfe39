"""Against the real InfluxDB 1.6: the one forecasting path, from a saved model.

A forecast at an origin inside the holdout equals the trainer's own holdout forecast for it
(to 1e-6; `wattcast-forecast` runs as its own process, so Keras runs on the numpy backend
there, against TensorFlow in the trainer); changing data after the origin changes nothing;
the interval holds the point forecast; the default origin follows the data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from forecast_support import METER_ID, TrainedMeter, forecast_json

from wattcast.crd import MeterType
from wattcast.devtools.testbed.influx import write_meter
from wattcast.forecasting.influx.influxql import InfluxQLSource
from wattcast.forecasting.loading import open_current
from wattcast.forecasting.serving import forecast

# Training the shared model (the module fixture) counts against the first test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _holdout_origin(meter: TrainedMeter) -> pd.Timestamp:
    holdout = meter.metadata.holdout_series
    first = pd.Timestamp(holdout.timestamps[0])
    return first + pd.Timedelta(days=2)  # a midnight origin inside the holdout


def test_a_forecast_inside_the_holdout_equals_the_trainers_holdout_forecast(
    trained: TrainedMeter,
) -> None:
    origin = _holdout_origin(trained)
    body = forecast_json(trained, "--origin", origin.isoformat())

    holdout = trained.metadata.holdout_series
    expected = dict(zip(pd.DatetimeIndex(holdout.timestamps), holdout.forecast, strict=True))
    assert body["meterId"] == METER_ID and body["meterType"] == "electricity"
    assert body["modelVersion"] == trained.metadata.version
    assert body["resolution"] == "1h"
    assert pd.Timestamp(body["origin"]) == origin
    assert len(body["points"]) == 24
    for point in body["points"]:
        time = pd.Timestamp(point["time"])
        assert point["forecast"] == pytest.approx(expected[time], abs=1e-6), time
        assert point["lower"] <= point["forecast"] <= point["upper"]
        assert point["lower"] >= 0  # a household without solar export is never negative
    assert pd.Timestamp(body["points"][0]["time"]) == origin


def _in_process(meter: TrainedMeter, origin: pd.Timestamp | None, hours: float | None) -> Any:
    version = open_current(meter.models, MeterType.ELECTRICITY, METER_ID)
    source = InfluxQLSource(url=meter.url, database=meter.database, token=None, timeout=30)
    return forecast(version, source, origin=origin, hours=hours).to_json_dict()


def test_changing_data_after_the_origin_changes_nothing(trained: TrainedMeter) -> None:
    origin = _holdout_origin(trained) + pd.Timedelta(days=1)
    before = _in_process(trained, origin, 12)
    later = trained.observed.loc[trained.observed.index >= origin].copy()
    later["consumption"] = later["consumption"] * 3 + 5
    write_meter(trained.url, trained.database, "electricity", METER_ID, later)
    try:
        after = _in_process(trained, origin, 12)
    finally:
        write_meter(
            trained.url,
            trained.database,
            "electricity",
            METER_ID,
            trained.observed.loc[trained.observed.index >= origin],
        )
    assert len(before["points"]) == 12
    assert after == before


def test_the_default_origin_is_the_end_of_the_last_complete_interval(
    trained: TrainedMeter,
) -> None:
    body = _in_process(trained, None, 6)
    last = trained.observed["consumption"].dropna().index.max()
    assert pd.Timestamp(body["origin"]) == last + timedelta(hours=1)
    assert len(body["points"]) == 6
    assert np.all(np.isfinite([p["forecast"] for p in body["points"]]))
