"""The one forecasting path: a fitted forecaster, the meter's points and an origin -> H steps.

Every caller goes through :func:`forecast_frame`: the REST API and `wattcast-forecast` (through
:func:`wattcast.forecasting.serving.forecast`, which reads InfluxDB) and the trainer, whose
holdout forecasts are this same function at each holdout origin. So a forecast from a saved
model at an origin inside its holdout is the trainer's holdout forecast for that origin.

For an origin T (on the model's grid) and H hours:

1. **Window.** The consumption of the `features.historySteps` points before T (from the first
   reading in them), aggregated on the server to the model's resolution; nothing at or after T
   is read, so changing data after the origin changes nothing. A model with temperature
   features also reads the temperature of the target times (the stand-in for a weather
   forecast; the last known value carried forward where there is none).
2. **Preparation** exactly as for training (`preparation.prepare`, on the window only), and a
   strict check (off for the trainer's holdout): the data must reach the origin within the
   bridgeable gap (`features.maxGapHours`) and cover the features' warm-up, else an error that
   names the gap.
3. **Features** rebuilt by the trainer's own feature code with the frozen scale, temperature
   standardisation and calendar switches of training (metadata.json `features`), for targets
   k = 1..H steps after T.
4. **Point forecast** from the version's forecaster; **interval**: the point forecast plus the
   empirical quantiles of the holdout residuals at the same horizon step (metadata.json
   `interval`); then lower <= forecast <= upper.
5. **Never negative** for a consumption that cannot be negative (water, or a meter with no
   negative value in training: `nonNegative`): forecast and bounds are clipped at zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from wattcast.crd import MeterType, Resolution
from wattcast.crd.modelstore import FeatureConfiguration, PredictionInterval
from wattcast.crd.times import rfc3339
from wattcast.forecasting.errors import (
    InvalidForecastRequestError,
    NoDataBeforeOriginError,
    NoDataError,
    RecentDataMissingError,
)
from wattcast.forecasting.features.building import build_features
from wattcast.forecasting.features.configuration import from_record
from wattcast.forecasting.forecasters import FittedForecaster
from wattcast.forecasting.preparation import PreparedSeries, freq_of, prepare

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Predictor:
    """What the path needs of a model: the forecaster and how to rebuild its inputs."""

    forecaster: FittedForecaster
    features: FeatureConfiguration
    meter_type: MeterType
    resolution: Resolution
    interval: PredictionInterval | None
    non_negative: bool

    @property
    def freq(self) -> pd.Timedelta:
        return freq_of(self.resolution)

    @property
    def horizon_hours(self) -> float:
        return float(self.features.horizon_steps * self.freq / pd.Timedelta(hours=1))

    def steps_for(self, hours: float | None) -> int:
        """Steps for `hours` (default: the model's horizon); refuses more than the horizon."""
        if hours is None:
            return self.features.horizon_steps
        steps = pd.Timedelta(hours=hours) / self.freq
        if hours <= 0 or not float(steps).is_integer() or steps > self.features.horizon_steps:
            raise InvalidForecastRequestError(
                f"hours must be a positive multiple of the model's resolution "
                f"({self.resolution.value}) and at most its horizon, "
                f"{self.horizon_hours:g} h; got {hours:g}"
            )
        return int(steps)


def on_grid(origin: datetime | pd.Timestamp, freq: pd.Timedelta) -> pd.Timestamp:
    stamp = pd.Timestamp(origin)
    if stamp.tzinfo is None:
        raise InvalidForecastRequestError("the origin must carry a time zone")
    stamp = stamp.tz_convert("UTC")
    if stamp != stamp.floor(freq):
        raise InvalidForecastRequestError(
            f"the origin {rfc3339(stamp.to_pydatetime())} is not on the model's grid "
            f"(every {_format(freq)} from midnight UTC)"
        )
    return stamp


def _format(delta: pd.Timedelta) -> str:
    hours = delta / pd.Timedelta(hours=1)
    return f"{hours:g} h" if hours >= 1 else f"{delta / pd.Timedelta(minutes=1):g} min"


def window_start(predictor: Predictor, origin: pd.Timestamp) -> pd.Timestamp:
    return origin - predictor.features.history_steps * predictor.freq


def _future_temperature(
    raw: pd.DataFrame, times: pd.DatetimeIndex, last_known: float
) -> FloatArray:
    if "temperature" in raw.columns:
        values = pd.to_numeric(raw["temperature"], errors="coerce").reindex(times)
    else:
        values = pd.Series(np.nan, index=times)
    values = values.where(np.isfinite(values))
    filled = values.interpolate(method="time", limit_area="inside").ffill()
    result: FloatArray = filled.fillna(last_known).to_numpy(dtype=np.float64)
    return result


def _check_recent(series: PreparedSeries, predictor: Predictor, origin: pd.Timestamp) -> None:
    valid = series.frame["valid"].to_numpy(dtype=bool)
    freq = predictor.freq
    if not valid.any():
        raise NoDataBeforeOriginError(
            f"no valid data in the {_format(predictor.features.history_steps * freq)} before "
            f"the origin {rfc3339(origin.to_pydatetime())}"
        )
    last = int(np.flatnonzero(valid)[-1])
    missing = (len(valid) - 1 - last) * freq
    if missing > pd.Timedelta(hours=predictor.features.max_gap_hours):
        gap_from = series.frame.index[last] + freq
        raise RecentDataMissingError(
            f"no data from {rfc3339(gap_from.to_pydatetime())} to the origin "
            f"{rfc3339(origin.to_pydatetime())} ({_format(missing)}); forecasts need data up "
            f"to the origin (gaps up to {predictor.features.max_gap_hours:g} h are bridged)"
        )
    have = int(valid.sum())
    need = predictor.features.warmup_steps
    if have < need:
        per_day = predictor.features.steps_per_day
        raise NoDataBeforeOriginError(
            f"have {have / per_day:.1f} days of valid data before the origin "
            f"{rfc3339(origin.to_pydatetime())}, the model needs {need / per_day:.1f}"
        )


def forecast_frame(
    predictor: Predictor,
    raw: pd.DataFrame,
    origin: datetime | pd.Timestamp,
    steps: int,
    *,
    strict: bool = True,
) -> tuple[pd.DatetimeIndex, FloatArray, FloatArray, FloatArray]:
    """Times, forecast, lower and upper for `steps` from `origin` (see the module doc).

    `raw` holds the meter's aggregated points (UTC index; `consumption`, optional
    `temperature`) at least over the window before the origin; consumption at or after the
    origin is never looked at.
    """
    freq = predictor.freq
    stamp = on_grid(origin, freq)
    if not 1 <= steps <= predictor.features.horizon_steps:
        raise InvalidForecastRequestError(
            f"steps must be 1..{predictor.features.horizon_steps}; got {steps}"
        )
    start = window_start(predictor, stamp)
    past = raw.loc[(raw.index >= start) & (raw.index < stamp)]
    # The window starts at its first reading: a meter younger than the window gets no invented
    # prefix (training's series starts at the TrainingJob's start, not earlier, either).
    if "consumption" in past.columns:
        known = past.index[np.isfinite(pd.to_numeric(past["consumption"], errors="coerce"))]
        if len(known):
            start = max(start, pd.Timestamp(known.min()).floor(freq))
    try:
        series = prepare(
            past,
            start=start,
            end=stamp,
            freq=freq,
            meter_type=predictor.meter_type,
            max_gap_hours=predictor.features.max_gap_hours,
            max_zero_hours=predictor.features.max_zero_hours,
            min_days=0,
        )
    except NoDataError:
        raise NoDataBeforeOriginError(
            f"no data in the {_format(predictor.features.history_steps * freq)} before the "
            f"origin {rfc3339(stamp.to_pydatetime())}"
        ) from None
    if strict:
        _check_recent(series, predictor, stamp)
    config = predictor.features
    times = pd.date_range(stamp, periods=steps, freq=freq, name="time")
    future: dict[str, Any] = {"consumption": np.nan, "valid": False}
    if config.temperature_mean is not None:
        if not series.has_temperature:
            raise NoDataBeforeOriginError(
                "the model takes temperature, but the window before the origin "
                f"{rfc3339(stamp.to_pydatetime())} has too little of it"
            )
        last_known = float(series.frame["temperature"].iloc[-1])
        future["temperature"] = _future_temperature(raw, times, last_known)
    frame = pd.concat([series.frame, pd.DataFrame(future, index=times)])
    frame["valid"] = frame["valid"].astype(bool)
    extended = PreparedSeries(frame=frame, freq=freq, report=series.report)
    feature_config, scaling = from_record(config)
    feature_set = build_features(
        extended,
        feature_config,
        scaling=scaling,
        origin=len(series.frame),
        steps=steps,
        names=config.names or None,
    )
    point = predictor.forecaster.predict(feature_set)
    if predictor.interval is not None:
        lower = point + np.asarray(predictor.interval.lower[:steps], dtype=np.float64)
        upper = point + np.asarray(predictor.interval.upper[:steps], dtype=np.float64)
    else:
        lower, upper = point.copy(), point.copy()
    if predictor.non_negative:
        point, lower, upper = (np.maximum(a, 0.0) for a in (point, lower, upper))
    lower, upper = np.minimum(lower, point), np.maximum(upper, point)
    return times, point, lower, upper
