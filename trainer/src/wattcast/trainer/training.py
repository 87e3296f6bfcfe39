"""One fit and one holdout: features -> Keras model -> metrics and the dashboard's series.

Training samples are the valid points before the holdout; the chronologically last part of them
(15 %, at least a day) is the validation set for early stopping, so the weights kept are those
that forecast unseen days best. The holdout is scored once, after training (docs/design.md §6).

The holdout forecasts are made by the one forecasting path (wattcast.forecasting.predicting) at
each holdout origin, from the raw points before that origin only: exactly what serving the saved
model at that origin answers. Their residuals per horizon step give the prediction interval.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from wattcast.crd import Holdout, MeterType, Metrics, ModelSpec
from wattcast.crd.modelstore import FeatureConfiguration, PredictionInterval
from wattcast.forecasting.errors import DataInsufficientError, TrainerError
from wattcast.forecasting.features import (
    FeatureConfig,
    FeatureSet,
    Scaling,
    build_features,
    training_scaling,
)
from wattcast.forecasting.forecasters import KerasForecaster
from wattcast.forecasting.predicting import Predictor, forecast_frame
from wattcast.forecasting.preparation import PreparedSeries
from wattcast.trainer.evaluation import (
    as_timestamps,
    error_metrics,
    holdout_start,
    naive_forecasts,
    scored_mask,
)
from wattcast.trainer.models import build_model, model_inputs, needs_window
from wattcast.trainer.runtime import load_keras, third_party_warnings_silenced

# At least this many days of training targets after the feature warm-up.
MIN_TRAIN_DAYS = 7
VALIDATION_FRACTION = 0.15
EARLY_STOPPING_PATIENCE = 4
# The dashboard's holdout series is kept small (docs/design.md §6: <= 2 weeks hourly).
MAX_SERIES_POINTS = 336
# History the forecasting path reads before an origin, beyond the features' warm-up: the
# smoothed weekly profiles (alpha 0.35 per week) keep under 0.1 % of their start after it.
HISTORY_WEEKS = 16
# The prediction interval: the central 90 % of the holdout residuals at each horizon step,
# pooled with neighbouring steps until at least this many residuals are behind each bound.
INTERVAL_LEVEL = 0.9
MIN_INTERVAL_RESIDUALS = 30

EpochCallback = Callable[[int, int, float | None, float | None, int | None], None]


@dataclass
class TrainingOutcome:
    """What one training produced, before it is saved."""

    model: Any
    metrics: Metrics
    history: dict[str, list[float]]
    holdout_series: dict[str, list[Any]]
    feature_names: tuple[str, ...]
    scale: float
    train_points: int
    epochs_run: int
    fit_seconds: float
    predictor: Predictor | None = None
    holdout: HoldoutForecasts | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HoldoutForecasts:
    """The forecasting path's forecasts over the holdout, for scoring and the promotion gate."""

    positions: npt.NDArray[np.int64]  # into the prepared series
    forecast: npt.NDArray[np.float64]
    horizon_step: npt.NDArray[np.int64]  # k = 1..horizon


def required_days(config: FeatureConfig, holdout_days: int) -> float:
    """Days of data the model needs: feature warm-up + a week of targets + the holdout."""
    return config.warmup / config.steps_per_day + MIN_TRAIN_DAYS + holdout_days


def _epoch_callback(keras: Any, on_epoch: EpochCallback | None, epochs: int) -> Any:
    class _Progress(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            if on_epoch is None:
                return
            logs = logs or {}
            done = epoch + 1
            elapsed = time.perf_counter() - self._started
            eta = round(elapsed / done * (epochs - done))
            loss = logs.get("loss")
            val_loss = logs.get("val_loss")
            on_epoch(
                done,
                epochs,
                None if loss is None or not math.isfinite(loss) else float(loss),
                None if val_loss is None or not math.isfinite(val_loss) else float(val_loss),
                eta,
            )

    return _Progress()


def fit(
    series: PreparedSeries,
    spec: ModelSpec,
    *,
    timezone: str,
    holidays: str,
    on_epoch: EpochCallback | None = None,
    raw: pd.DataFrame | None = None,
    meter_type: MeterType = MeterType.ELECTRICITY,
    max_gap_hours: float = 6.0,
) -> TrainingOutcome:
    """Fit the model of `spec` on `series` and score it on the holdout.

    `raw` is what InfluxDB returned (the holdout forecasts prepare each window from it, as
    serving does); without it the cleaned series stands in for it.
    """
    with third_party_warnings_silenced():
        return _fit(
            series,
            spec,
            timezone=timezone,
            holidays=holidays,
            on_epoch=on_epoch,
            raw=raw,
            meter_type=meter_type,
            max_gap_hours=max_gap_hours,
        )


def feature_configuration(
    config: FeatureConfig,
    scaling: Scaling,
    names: tuple[str, ...],
    *,
    with_window: bool,
    max_gap_hours: float,
) -> FeatureConfiguration:
    """The model store's record of how to rebuild the inputs (metadata.json `features`)."""
    return FeatureConfiguration(
        steps_per_day=config.steps_per_day,
        horizon_steps=config.horizon,
        lookback_steps=config.lookback,
        warmup_steps=config.warmup,
        history_steps=config.warmup + HISTORY_WEEKS * config.week,
        timezone=config.timezone,
        holidays=config.holidays,
        use_temperature=config.use_temperature,
        with_window=with_window,
        max_gap_hours=max_gap_hours,
        scale=scaling.scale,
        temperature_mean=scaling.temperature_mean,
        temperature_std=scaling.temperature_std,
        annual=scaling.annual,
        names=list(names),
    )


def raw_of(series: PreparedSeries) -> pd.DataFrame:
    """The cleaned series as if InfluxDB had returned it (where no raw frame is at hand)."""
    frame = series.frame
    raw = pd.DataFrame(
        {"consumption": frame["consumption"].where(frame["valid"])}, index=frame.index
    )
    if series.has_temperature:
        raw["temperature"] = frame["temperature"]
    return raw


def holdout_forecasts(
    predictor: Predictor, raw: pd.DataFrame, series: PreparedSeries, split: int
) -> HoldoutForecasts:
    """The forecasting path at every holdout origin (every horizon from `split`), not strict:
    a gap before an origin is filled seasonally, as in training."""
    horizon = predictor.features.horizon_steps
    n = len(series.frame)
    positions: list[npt.NDArray[np.int64]] = []
    values: list[npt.NDArray[np.float64]] = []
    steps_out: list[npt.NDArray[np.int64]] = []
    for origin in range(split, n, horizon):
        steps = min(horizon, n - origin)
        _, point, _, _ = forecast_frame(
            predictor, raw, series.frame.index[origin], steps, strict=False
        )
        positions.append(np.arange(origin, origin + steps, dtype=np.int64))
        values.append(point)
        steps_out.append(np.arange(1, steps + 1, dtype=np.int64))
    if not positions:
        raise DataInsufficientError("the holdout is empty: the range is too short")
    return HoldoutForecasts(
        positions=np.concatenate(positions),
        forecast=np.concatenate(values),
        horizon_step=np.concatenate(steps_out),
    )


def prediction_interval(
    residuals: npt.NDArray[np.float64], steps: npt.NDArray[np.int64], horizon: int
) -> PredictionInterval:
    """Per horizon step k, the (1-level)/2 and (1+level)/2 quantiles of actual - forecast at k,
    pooled with steps k±1, k±2, ... until MIN_INTERVAL_RESIDUALS are in (or all are)."""
    tail = (1 - INTERVAL_LEVEL) / 2
    lower: list[float] = []
    upper: list[float] = []
    for k in range(1, horizon + 1):
        width = 0
        while True:
            chosen = residuals[np.abs(steps - k) <= width]
            if len(chosen) >= MIN_INTERVAL_RESIDUALS or width >= horizon:
                break
            width += 1
        if len(chosen) == 0:
            lower.append(0.0)
            upper.append(0.0)
            continue
        lower.append(float(np.quantile(chosen, tail)))
        upper.append(float(np.quantile(chosen, 1 - tail)))
    return PredictionInterval(
        level=INTERVAL_LEVEL, lower=lower, upper=upper, residuals=len(residuals)
    )


def non_negative(series: PreparedSeries, meter_type: MeterType, split: int) -> bool:
    """Water cannot run backwards; an electricity meter without any negative training value
    (no solar export) is not forecast below zero either."""
    if meter_type == MeterType.WATER:
        return True
    frame = series.frame.iloc[:split]
    values = frame["consumption"].to_numpy(dtype=np.float64)[frame["valid"].to_numpy(bool)]
    return bool(len(values) == 0 or values.min() >= 0)


def _fit(
    series: PreparedSeries,
    spec: ModelSpec,
    *,
    timezone: str,
    holidays: str,
    on_epoch: EpochCallback | None,
    raw: pd.DataFrame | None,
    meter_type: MeterType,
    max_gap_hours: float,
) -> TrainingOutcome:
    keras, _ = load_keras()
    keras.utils.set_random_seed(spec.seed)
    config = FeatureConfig.from_spec(
        spec, series.steps_per_day, timezone=timezone, holidays=holidays
    )
    have = series.report.valid_days
    need = required_days(config, spec.holdout_days)
    split = holdout_start(series, spec.holdout_days, config.horizon)
    if len(series.frame) < config.warmup + MIN_TRAIN_DAYS * config.steps_per_day + 1 or (
        have < need
    ):
        raise DataInsufficientError(
            f"have {have:.1f} days of data after cleaning, need {need:.1f} for this model "
            f"({config.warmup / config.steps_per_day:.0f} days of history for the features, "
            f"{MIN_TRAIN_DAYS} of training targets, {spec.holdout_days} of holdout)"
        )
    scaling = training_scaling(series, config, split)
    features = build_features(series, config, scaling=scaling, with_window=needs_window(spec.type))
    labelled = np.isfinite(features.target)
    before = features.positions < split
    train_rows = np.flatnonzero(before & labelled)
    if len(train_rows) < MIN_TRAIN_DAYS * config.steps_per_day:
        raise DataInsufficientError(
            f"have {len(train_rows) / config.steps_per_day:.1f} days of valid training points "
            f"before the holdout, need {MIN_TRAIN_DAYS}"
        )
    n_val = max(7 * config.steps_per_day, int(len(train_rows) * VALIDATION_FRACTION))
    n_val = min(n_val, len(train_rows) // 3)
    fit_rows, val_rows = train_rows[:-n_val], train_rows[-n_val:]
    fit_mask = np.zeros(len(features.target), dtype=bool)
    fit_mask[fit_rows] = True

    model = build_model(spec, features, fit_mask)
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=EARLY_STOPPING_PATIENCE, restore_best_weights=True
        ),
        _epoch_callback(keras, on_epoch, spec.epochs),
    ]
    started = time.perf_counter()
    history = model.fit(
        model_inputs(spec.type, features, fit_rows),
        features.target[fit_rows].astype(np.float32),
        validation_data=(
            model_inputs(spec.type, features, val_rows),
            features.target[val_rows].astype(np.float32),
        ),
        epochs=spec.epochs,
        batch_size=spec.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    fit_seconds = time.perf_counter() - started
    losses = {
        "loss": [float(v) for v in history.history.get("loss", [])],
        "val_loss": [float(v) for v in history.history.get("val_loss", [])],
    }
    predictor = Predictor(
        forecaster=KerasForecaster(model, spec.type),
        features=feature_configuration(
            config,
            scaling,
            features.feature_names,
            with_window=needs_window(spec.type),
            max_gap_hours=max_gap_hours,
        ),
        meter_type=meter_type,
        resolution=spec.resolution,
        interval=None,
        non_negative=non_negative(series, meter_type, split),
    )
    holdout = holdout_forecasts(
        predictor, raw if raw is not None else raw_of(series), series, split
    )
    metrics, series_out, scored = score_holdout(series, holdout)
    actual = series.frame["consumption"].to_numpy(dtype=np.float64)[holdout.positions]
    interval = prediction_interval(
        (actual - holdout.forecast)[scored], holdout.horizon_step[scored], config.horizon
    )
    predictor = Predictor(
        forecaster=predictor.forecaster,
        features=predictor.features,
        meter_type=meter_type,
        resolution=spec.resolution,
        interval=interval,
        non_negative=predictor.non_negative,
    )
    return TrainingOutcome(
        model=model,
        metrics=metrics,
        history=losses,
        holdout_series=series_out,
        feature_names=features.feature_names,
        scale=features.scale,
        train_points=len(train_rows),
        epochs_run=len(losses["loss"]),
        fit_seconds=fit_seconds,
        predictor=predictor,
        holdout=holdout,
        # A few holdout rows: the store checks that the saved file reproduces these forecasts.
        extra={
            "sample_inputs": model_inputs(
                spec.type, features, np.flatnonzero(features.positions >= split)[:256]
            )
        },
    )


def predict(model: Any, spec: ModelSpec, features: FeatureSet, rows: npt.NDArray[Any]) -> Any:
    inputs = model_inputs(spec.type, features, rows)
    with third_party_warnings_silenced():
        raw = model.predict(inputs, batch_size=4096, verbose=0)
    return np.asarray(raw, dtype=np.float64).reshape(-1) * features.scale


def score_holdout(
    series: PreparedSeries, holdout: HoldoutForecasts
) -> tuple[Metrics, dict[str, list[Any]], npt.NDArray[np.bool_]]:
    """Metrics of the holdout forecasts next to the baselines, the plot's series, and which
    holdout rows were scored."""
    positions = holdout.positions
    forecast = holdout.forecast
    if not np.all(np.isfinite(forecast)):
        raise TrainerError("the model produced non-finite forecasts (training diverged)")
    baselines = naive_forecasts(series, positions)
    scored = scored_mask(series, positions, baselines)
    if not scored.any():
        raise DataInsufficientError(
            "no valid points in the holdout to score the model on (all missing or outliers)"
        )
    actual = series.frame["consumption"].to_numpy(dtype=np.float64)[positions]
    times = series.frame.index[positions]
    metrics = Metrics(
        holdout=Holdout(
            start=times[0].to_pydatetime(),
            end=(times[-1] + series.freq).to_pydatetime(),
            points=int(scored.sum()),
        ),
        model=error_metrics(actual[scored], forecast[scored]),
        baselines={
            name: error_metrics(actual[scored], values[scored])
            for name, values in baselines.items()
        },
    )
    tail = slice(max(0, len(positions) - MAX_SERIES_POINTS), len(positions))

    def rounded(values: npt.NDArray[np.float64]) -> list[float | None]:
        return [None if not math.isfinite(v) else round(float(v), 6) for v in values[tail]]

    valid = series.frame["valid"].to_numpy(dtype=bool)[positions]
    series_out: dict[str, list[Any]] = {
        "timestamps": as_timestamps(pd.DatetimeIndex(times[tail])),
        "actual": rounded(np.where(valid, actual, np.nan)),
        "forecast": rounded(forecast),
        "naiveDaily": rounded(baselines["naiveDaily"]),
        "naiveWeekly": rounded(baselines["naiveWeekly"]),
    }
    return metrics, series_out, scored
