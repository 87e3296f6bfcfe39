"""A forecast from a model version and an InfluxDB source: what the REST API and
`wattcast-forecast` serve.

It reads the window the version needs before the origin (and, for a model with temperature,
the temperature of the target times) and runs the one forecasting path
(:func:`wattcast.forecasting.predicting.forecast_frame`) on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from wattcast.crd import MeterType, Resolution
from wattcast.crd.times import rfc3339
from wattcast.forecasting.datasource import DataSource, MeterQuery
from wattcast.forecasting.errors import NoDataBeforeOriginError
from wattcast.forecasting.loading import ModelVersion
from wattcast.forecasting.predicting import forecast_frame, on_grid, window_start

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Forecast:
    """A forecast issued at `origin` for the `len(times)` steps from it."""

    meter_id: str
    meter_type: MeterType
    model_version: str
    resolution: Resolution
    origin: pd.Timestamp
    times: pd.DatetimeIndex
    forecast: FloatArray
    lower: FloatArray
    upper: FloatArray
    recent: pd.Series | None = None  # the consumption read before the origin (aggregated)

    def points(self) -> list[dict[str, Any]]:
        return [
            {"time": rfc3339(t.to_pydatetime()), "forecast": f, "lower": lo, "upper": hi}
            for t, f, lo, hi in zip(
                self.times,
                self.forecast.tolist(),
                self.lower.tolist(),
                self.upper.tolist(),
                strict=True,
            )
        ]

    def to_json_dict(self) -> dict[str, Any]:
        """The REST shape: {meterId, meterType, modelVersion, resolution, origin, points}."""
        return {
            "meterId": self.meter_id,
            "meterType": self.meter_type.value,
            "modelVersion": self.model_version,
            "resolution": self.resolution.value,
            "origin": rfc3339(self.origin.to_pydatetime()),
            "points": self.points(),
        }


def _fetch(
    source: DataSource, version: ModelVersion, meter_id: str, start: Any, end: Any
) -> pd.DataFrame:
    predictor = version.predictor
    return source.fetch(
        MeterQuery(
            meter_id=meter_id,
            meter_type=predictor.meter_type,
            start=pd.Timestamp(start).to_pydatetime(),
            end=pd.Timestamp(end).to_pydatetime(),
            resolution=predictor.resolution,
        )
    )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def latest_origin(
    source: DataSource, version: ModelVersion, *, now: datetime | None = None
) -> pd.Timestamp:
    """The end of the last complete interval in the data: the interval of the meter's last
    reading before the current, incomplete interval."""
    predictor = version.predictor
    freq = predictor.freq
    end = pd.Timestamp(now or datetime.now(UTC)).tz_convert("UTC").floor(freq)
    meter_id = version.metadata.meter.id
    last = source.last_time(
        MeterQuery(
            meter_id=meter_id,
            meter_type=predictor.meter_type,
            start=EPOCH,
            end=end.to_pydatetime(),
            resolution=predictor.resolution,
        )
    )
    if last is None:
        raise NoDataBeforeOriginError(
            f"no data for meter {predictor.meter_type.value}/{meter_id} before "
            f"{rfc3339(end.to_pydatetime())}"
        )
    return pd.Timestamp(last).tz_convert("UTC").floor(freq) + freq


def forecast(
    version: ModelVersion,
    source: DataSource,
    *,
    origin: datetime | None = None,
    hours: float | None = None,
    now: datetime | None = None,
) -> Forecast:
    """Forecast with `version` from `origin` (default: :func:`latest_origin`) for `hours`."""
    predictor = version.predictor
    meter_id = version.metadata.meter.id
    steps = predictor.steps_for(hours)
    if origin is None:
        stamp = latest_origin(source, version, now=now)
    else:
        stamp = on_grid(origin, predictor.freq)
    raw = _fetch(source, version, meter_id, window_start(predictor, stamp), stamp)
    if predictor.features.temperature_mean is not None:
        ahead = _fetch(source, version, meter_id, stamp, stamp + steps * predictor.freq)
        if "temperature" in ahead.columns:
            raw = pd.concat([raw, ahead[["temperature"]]])
    times, point, lower, upper = forecast_frame(predictor, raw, stamp, steps)
    recent = raw["consumption"] if "consumption" in raw.columns else None
    return Forecast(
        meter_id=meter_id,
        meter_type=predictor.meter_type,
        model_version=version.version,
        resolution=predictor.resolution,
        origin=stamp,
        times=times,
        forecast=point,
        lower=lower,
        upper=upper,
        recent=None if recent is None else recent.loc[recent.index < stamp].dropna(),
    )
