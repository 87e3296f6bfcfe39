"""One training: features, the network fitted, every forecaster scored on the holdout.

The feature configuration is the pipeline's, computed once from the spec; the scaling is
frozen from the points before the holdout. The network and the seasonal-naive baselines are
Forecasters over the same FeatureSet and are fitted on the same training rows. The network's
holdout forecasts come from the one forecasting path at each origin (holdout.py), the
baselines' from the series; all are scored on the same points (evaluation.py).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from wattcast.crd import Holdout, MeterType, Metrics, ModelSpec, ModelType
from wattcast.forecasting.baselines import seasonal_naive_baselines
from wattcast.forecasting.errors import DataInsufficientError, TrainerError
from wattcast.forecasting.features.building import FeatureSet, build_features
from wattcast.forecasting.features.configuration import FeatureConfig, record, training_scaling
from wattcast.forecasting.forecasters import Forecaster
from wattcast.forecasting.inputs import Inputs, model_inputs
from wattcast.forecasting.predicting import Predictor
from wattcast.forecasting.preparation import DEFAULT_MAX_ZERO_HOURS, PreparedSeries
from wattcast.trainer.ensembling import CANDIDATES, Combination, combine
from wattcast.trainer.epoch_loop import EpochCallback
from wattcast.trainer.evaluation import evaluate
from wattcast.trainer.fitting import NetworkForecaster, validation_split
from wattcast.trainer.holdout import (
    HoldoutForecasts,
    holdout_forecasts,
    holdout_start,
    non_negative,
    plotted_series,
    prediction_interval,
    raw_of,
)
from wattcast.trainer.keras_backend import load_keras, third_party_warnings_silenced

log = logging.getLogger(__name__)
# The model types whose network is combined with the seasonal blend and the linear model.
COMBINED_TYPES = (ModelType.SEASONAL_RESIDUAL, ModelType.LSTM)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# At least this many days of training targets after the feature warm-up.
MIN_TRAIN_DAYS = 7
# Rows of the holdout the store runs the saved file on, to check it forecasts as in memory.
SAMPLE_ROWS = 256


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
    predictor: Predictor  # the forecaster and metadata.json's features, interval, nonNegative
    holdout: HoldoutForecasts
    scored: BoolArray  # which holdout rows were scored
    # Valid holdout points left unscored because a baseline had no forecast there (a gap of
    # more than FALLBACK_PERIODS periods before them): the status message names their count.
    unscored: int
    sample_inputs: Inputs  # a few holdout rows' inputs, to check the saved file with
    # The weights the validation days chose for the network, the seasonal blend and the linear
    # model (ensembling.py); None for a model type that is not combined (lstm).
    combination: Combination | None = None


def required_days(config: FeatureConfig, holdout_days: int) -> float:
    """Days of data the model needs: feature warm-up + a week of targets + the holdout."""
    return config.warmup / config.steps_per_day + MIN_TRAIN_DAYS + holdout_days


def train(
    series: PreparedSeries,
    spec: ModelSpec,
    config: FeatureConfig,
    *,
    on_epoch: EpochCallback | None = None,
    raw: pd.DataFrame | None = None,
    meter_type: MeterType = MeterType.ELECTRICITY,
    max_gap_hours: float = 6.0,
    max_zero_hours: float | None = DEFAULT_MAX_ZERO_HOURS,
) -> TrainingOutcome:
    """Fit the model of `spec` on `series` and score it on the holdout.

    `raw` is what InfluxDB returned (the holdout forecasts prepare each window from it, as
    serving does); without it the cleaned series stands in for it.
    """
    with third_party_warnings_silenced():
        load_keras()
        return _train(
            series, spec, config, on_epoch, raw, meter_type, max_gap_hours, max_zero_hours
        )


def _check_enough(series: PreparedSeries, spec: ModelSpec, config: FeatureConfig) -> None:
    have = series.report.valid_days
    need = required_days(config, spec.holdout_days)
    too_short = len(series.frame) < config.warmup + MIN_TRAIN_DAYS * config.steps_per_day + 1
    if too_short or have < need:
        raise DataInsufficientError(
            f"have {have:.1f} days of data after cleaning, need {need:.1f} for this model "
            f"({config.warmup / config.steps_per_day:.0f} days of history for the features, "
            f"{MIN_TRAIN_DAYS} of training targets, {spec.holdout_days} of holdout)"
        )


def _train(
    series: PreparedSeries,
    spec: ModelSpec,
    config: FeatureConfig,
    on_epoch: EpochCallback | None,
    raw: pd.DataFrame | None,
    meter_type: MeterType,
    max_gap_hours: float,
    max_zero_hours: float | None,
) -> TrainingOutcome:
    _check_enough(series, spec, config)
    split = holdout_start(series, spec.holdout_days, config.horizon)
    scaling = training_scaling(series, config, split)
    features = build_features(series, config, scaling=scaling)
    before = features.positions < split
    train_rows = np.flatnonzero(before & np.isfinite(features.target))
    if len(train_rows) < MIN_TRAIN_DAYS * config.steps_per_day:
        raise DataInsufficientError(
            f"have {len(train_rows) / config.steps_per_day:.1f} days of valid training points "
            f"before the holdout, need {MIN_TRAIN_DAYS}"
        )
    network = NetworkForecaster(spec, config.steps_per_day, on_epoch)
    baselines: dict[str, Forecaster] = dict(seasonal_naive_baselines(config.steps_per_day))
    for forecaster in (network, *baselines.values()):
        forecaster.fit(features, train_rows)
    choice: Combination | None = None
    if spec.type in COMBINED_TYPES:
        fit_rows, val_rows = validation_split(train_rows, config.steps_per_day)
        network.model, choice = combine(network.model, features, fit_rows, val_rows, spec.type)
        log.info(
            "selected by validation: %s (validation MAE %s; combined %.4g)",
            dict(zip(CANDIDATES, choice.weights, strict=True)),
            {name: round(mae, 4) for name, mae in choice.validation_mae.items()},
            choice.combined_mae,
        )

    predictor = Predictor(
        forecaster=network,
        features=record(
            config,
            scaling,
            features.feature_names,
            max_gap_hours=max_gap_hours,
            max_zero_hours=max_zero_hours,
        ),
        meter_type=meter_type,
        resolution=spec.resolution,
        interval=None,
        non_negative=non_negative(series, meter_type, split),
    )
    holdout = holdout_forecasts(
        predictor, raw if raw is not None else raw_of(series), series, split
    )
    metrics, plotted, scored = score_holdout(series, features, holdout, baselines)
    actual = series.frame["consumption"].to_numpy(dtype=np.float64)[holdout.positions]
    interval = prediction_interval(
        (actual - holdout.forecast)[scored], holdout.horizon_step[scored], config.horizon
    )
    sample_rows = np.flatnonzero(features.positions >= split)[:SAMPLE_ROWS]
    return TrainingOutcome(
        model=network.model,
        metrics=metrics,
        history=network.history,
        holdout_series=plotted,
        feature_names=features.feature_names,
        scale=features.scale,
        train_points=len(train_rows),
        epochs_run=network.epochs_run,
        fit_seconds=network.fit_seconds,
        predictor=dataclasses.replace(predictor, interval=interval),
        holdout=holdout,
        scored=scored,
        unscored=int(
            (series.frame["valid"].to_numpy(dtype=bool)[holdout.positions] & ~scored).sum()
        ),
        sample_inputs=model_inputs(spec.type, features, sample_rows),
        combination=choice,
    )


def score_holdout(
    series: PreparedSeries,
    features: FeatureSet,
    holdout: HoldoutForecasts,
    baselines: dict[str, Forecaster],
) -> tuple[Metrics, dict[str, list[Any]], BoolArray]:
    """Metrics of the model's holdout forecasts and the baselines' on the same points, the
    plot's series, and which holdout rows were scored."""
    positions = holdout.positions
    if not np.all(np.isfinite(holdout.forecast)):
        raise TrainerError("the model produced non-finite forecasts (training diverged)")
    rows = np.searchsorted(features.positions, positions)
    if np.any(rows >= len(features.positions)) or np.any(features.positions[rows] != positions):
        raise ValueError("the holdout lies outside the features' rows")
    forecasts = {"model": holdout.forecast}
    forecasts |= {name: b.predict(features)[rows] for name, b in baselines.items()}
    frame = series.frame
    actual = frame["consumption"].to_numpy(dtype=np.float64)[positions]
    valid = frame["valid"].to_numpy(dtype=bool)[positions]
    try:
        evaluation = evaluate(actual, forecasts, valid=valid)
    except ValueError:
        raise DataInsufficientError(
            "no valid points in the holdout to score the model on (all missing or outliers)"
        ) from None
    times = frame.index[positions]
    metrics = Metrics(
        holdout=Holdout(
            start=times[0].to_pydatetime(),
            end=(times[-1] + series.freq).to_pydatetime(),
            points=evaluation.points,
        ),
        model=evaluation.scores["model"],
        baselines={name: evaluation.scores[name] for name in baselines},
    )
    plotted = plotted_series(
        series,
        positions,
        {"forecast": holdout.forecast, **{name: forecasts[name] for name in baselines}},
    )
    return metrics, plotted, evaluation.mask
