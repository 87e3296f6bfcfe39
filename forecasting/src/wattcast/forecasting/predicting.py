"""The one forecasting path: a model version, an InfluxDB source and an origin -> H hours ahead.

Every caller goes through :func:`forecast_frame`: the REST API and `wattcast-forecast` (through
:func:`forecast`, which reads InfluxDB) and the trainer, whose holdout forecasts are this same
function at each holdout origin. So a forecast from a saved model at an origin inside its
holdout is the trainer's holdout forecast for that origin.

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

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import ValidationError

from wattcast.crd import MeterType, Resolution
from wattcast.crd.modelstore import (
    CURRENT,
    METADATA_FILE,
    VERSIONS,
    FeatureConfiguration,
    ModelMetadata,
    PredictionInterval,
    is_version,
    meter_dir,
)
from wattcast.crd.times import rfc3339
from wattcast.forecasting.errors import (
    InvalidForecastRequestError,
    ModelMismatchError,
    NoCurrentModelError,
    NoDataBeforeOriginError,
    NoDataError,
    RecentDataMissingError,
)
from wattcast.forecasting.features import FeatureConfig, Scaling, build_features
from wattcast.forecasting.forecasters import Forecaster, load_forecaster
from wattcast.forecasting.preparation import PreparedSeries, prepare
from wattcast.forecasting.sources import DataSource, MeterQuery, check_meter_id

FloatArray = npt.NDArray[np.float64]
MAX_METADATA_BYTES = 4 * 1024 * 1024


def freq_of(resolution: Resolution) -> pd.Timedelta:
    return pd.Timedelta(minutes=resolution.minutes)


@dataclass(frozen=True)
class Predictor:
    """What the path needs of a model: the forecaster and how to rebuild its inputs."""

    forecaster: Forecaster
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


def _on_grid(origin: datetime | pd.Timestamp, freq: pd.Timedelta) -> pd.Timestamp:
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
    stamp = _on_grid(origin, freq)
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
    feature_set = build_features(
        extended,
        FeatureConfig(
            steps_per_day=config.steps_per_day,
            horizon=config.horizon_steps,
            lookback=config.lookback_steps,
            timezone=config.timezone,
            holidays=config.holidays,
            use_temperature=config.use_temperature,
        ),
        scaling=Scaling(
            scale=config.scale,
            temperature_mean=config.temperature_mean,
            temperature_std=config.temperature_std,
            annual=config.annual,
        ),
        with_window=config.with_window,
        origin=len(series.frame),
        steps=steps,
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


# --- reading a version from the model store -------------------------------------------------


@dataclass(frozen=True)
class ModelVersion:
    """A version of a meter's model, loaded: its directory, metadata and forecaster."""

    directory: Path
    metadata: ModelMetadata
    predictor: Predictor

    @property
    def version(self) -> str:
        return self.metadata.version


def read_metadata(version_dir: Path) -> ModelMetadata:
    """The version's metadata.json, validated against the contract."""
    path = Path(version_dir) / METADATA_FILE
    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            raise ModelMismatchError(f"{path} is larger than {MAX_METADATA_BYTES} bytes")
        return ModelMetadata.from_json_text(path.read_bytes())
    except FileNotFoundError:
        raise ModelMismatchError(f"{path} does not exist: not a model version") from None
    except OSError as error:
        raise ModelMismatchError(f"cannot read {path}: {error.strerror}") from None
    except (ValidationError, json.JSONDecodeError) as error:
        first = str(error).splitlines()[:3]
        raise ModelMismatchError(f"{path} is not valid model metadata: {' '.join(first)}") from None


def open_version(
    version_dir: Path, *, meter_type: MeterType | None = None, meter_id: str | None = None
) -> ModelVersion:
    """Load the version in `version_dir`; with a meter, refuse another meter's model."""
    metadata = read_metadata(version_dir)
    if meter_type is not None and meter_id is not None:
        try:
            metadata.check_meter(meter_type, meter_id)
        except ValueError as error:
            raise ModelMismatchError(str(error)) from None
    forecaster = load_forecaster(Path(version_dir), metadata)
    return ModelVersion(
        directory=Path(version_dir),
        metadata=metadata,
        predictor=Predictor(
            forecaster=forecaster,
            features=metadata.features,
            meter_type=metadata.meter.type,
            resolution=metadata.data_range.resolution,
            interval=metadata.interval,
            non_negative=metadata.non_negative,
        ),
    )


def current_version_dir(models_dir: Path, meter_type: MeterType, meter_id: str) -> Path:
    """The directory `current` points to, inside the store; NoCurrentModelError if none."""
    check_meter_id(meter_id)
    root = Path(models_dir)
    directory = root / meter_dir(meter_type, meter_id)
    link = directory / CURRENT
    target = link.resolve() if link.is_symlink() else None
    versions = (directory / VERSIONS).resolve()
    if target is None or target.parent != versions or not is_version(target.name):
        raise NoCurrentModelError(
            f"meter {MeterType(meter_type).value}/{meter_id} has no current model in the store"
        )
    if not target.is_dir():
        raise NoCurrentModelError(
            f"the current model of {MeterType(meter_type).value}/{meter_id} is missing"
        )
    return target


def open_current(models_dir: Path, meter_type: MeterType, meter_id: str) -> ModelVersion:
    return open_version(
        current_version_dir(models_dir, meter_type, meter_id),
        meter_type=meter_type,
        meter_id=meter_id,
    )


def list_current(models_dir: Path) -> list[tuple[MeterType, str]]:
    """Every meter of the store with a `current` link, sorted."""
    found = []
    for meter_type in MeterType:
        base = Path(models_dir) / meter_type.value
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            if (entry / CURRENT).is_symlink():
                found.append((meter_type, entry.name))
    return found


# --- with InfluxDB --------------------------------------------------------------------------


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
        stamp = _on_grid(origin, predictor.freq)
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
