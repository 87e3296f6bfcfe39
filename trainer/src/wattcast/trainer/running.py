"""One TrainingJob run, stage by stage: data, preparation, training, saving, result.

`run_job` never raises for an expected failure: it returns the TerminationMessage and the exit
code (0 success, 2 permanent, 1 retriable), after reporting the failure to the sinks. The
model is saved only after training and scoring succeeded, so a failure leaves no partial model.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import SecretStr

from wattcast.crd import (
    InfluxSource,
    Phase,
    Reason,
    TerminationMessage,
    TrainingResult,
    constants,
)
from wattcast.crd.modelstore import (
    FORECASTER_KERAS,
    MODEL_FILE,
    SCHEMA_VERSION,
    VERSIONS,
    ModelMetadata,
    Promotion,
)
from wattcast.crd.times import now_utc
from wattcast.forecasting.errors import TrainerError, public_message
from wattcast.forecasting.features import FeatureConfig
from wattcast.forecasting.predicting import ModelVersion, open_version
from wattcast.forecasting.preparation import prepare
from wattcast.forecasting.sources import DataSource, MeterQuery, check_meter_id, make_source
from wattcast.trainer.evaluation import naive_forecasts, scored_mask
from wattcast.trainer.jobs import StandaloneTrainingJob
from wattcast.trainer.progress import ProgressReporter
from wattcast.trainer.promoting import decide
from wattcast.trainer.runtime import load_keras, third_party_warnings_silenced
from wattcast.trainer.settings import TrainerSettings
from wattcast.trainer.store import ModelStore, new_version
from wattcast.trainer.training import (
    HoldoutForecasts,
    TrainingOutcome,
    fit,
    holdout_forecasts,
    required_days,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    message: TerminationMessage


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("wattcast-trainer", "tensorflow-cpu", "keras", "numpy", "pandas"):
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _verify(model: Any, inputs: dict[str, Any]) -> Any:
    """A check that the saved file forecasts exactly as the model in memory."""
    expected = np.asarray(model.predict(inputs, verbose=0))

    def verify(path: Path) -> None:
        keras, _ = load_keras()
        loaded = keras.models.load_model(path)
        actual = np.asarray(loaded.predict(inputs, verbose=0))
        if actual.shape != expected.shape or not np.allclose(
            actual, expected, rtol=1e-5, atol=1e-6
        ):
            raise TrainerError("the saved model does not reproduce the trained model's forecasts")

    return verify


def run_job(
    job: StandaloneTrainingJob,
    *,
    settings: TrainerSettings,
    source: InfluxSource | None,
    token: SecretStr | None,
    models_dir: Path,
    reporter: ProgressReporter,
    data_source: DataSource | None = None,
) -> RunOutcome:
    """Run `job`; see the module doc. `data_source` overrides the one built from `source`."""
    try:
        message = _run(job, settings, source, token, models_dir, reporter, data_source)
        return RunOutcome(constants.EXIT_OK, message)
    except TrainerError as error:
        log.error("training failed (%s): %s", error.reason, error.message)
        text = public_message(error)
        reporter.fail(f"{error.reason}: {text}")
        return RunOutcome(
            error.exit_code,
            TerminationMessage(phase="Failed", reason=error.reason, message=text[:1024]),
        )
    except Exception as error:  # unexpected: retriable, with the reason TrainingError
        text = public_message(error)[:1024]
        reporter.fail(f"{Reason.TRAINING_ERROR}: {text}")
        return RunOutcome(
            1, TerminationMessage(phase="Failed", reason=Reason.TRAINING_ERROR, message=text)
        )


def _run(
    job: StandaloneTrainingJob,
    settings: TrainerSettings,
    source: InfluxSource | None,
    token: SecretStr | None,
    models_dir: Path,
    reporter: ProgressReporter,
    data_source: DataSource | None,
) -> TerminationMessage:
    spec = job.spec
    check_meter_id(spec.meter_id)  # again, right before anything touches InfluxDB
    model_spec = spec.effective_model
    reporter.stage(Phase.PROCESSING_DATA, f"Querying InfluxDB for meter {spec.meter_id}")
    if data_source is None:
        if source is None:
            raise TrainerError("no data source configured")
        data_source = make_source(source, token, timeout=settings.influx_timeout_seconds)
    query = MeterQuery(
        meter_id=spec.meter_id,
        meter_type=spec.meter_type,
        start=spec.start,
        end=spec.end,
        resolution=model_spec.resolution,
    )
    started = time.perf_counter()
    raw = data_source.fetch(query)
    pull_seconds = time.perf_counter() - started
    log.info("read %d points in %.2f s", len(raw), pull_seconds)
    reporter.stage(Phase.PROCESSING_DATA, f"Cleaning {len(raw)} points", 0.5)

    freq = pd.Timedelta(minutes=model_spec.resolution.minutes)
    steps_per_day = int(pd.Timedelta(days=1) / freq)
    config = FeatureConfig.from_spec(
        model_spec, steps_per_day, timezone=settings.timezone, holidays=settings.holidays
    )
    need = max(settings.min_training_days, required_days(config, model_spec.holdout_days))
    series = prepare(
        raw,
        start=pd.Timestamp(spec.start),
        end=pd.Timestamp(spec.end),
        freq=freq,
        meter_type=spec.meter_type,
        max_gap_hours=settings.max_gap_hours,
        min_days=need,
    )
    reporter.stage(
        Phase.PROCESSING_DATA,
        f"{series.report.valid_points} valid points ({series.report.valid_days:g} days) after "
        "cleaning",
        1.0,
    )

    reporter.stage(Phase.TRAINING, "Loading TensorFlow")
    _, import_seconds = load_keras()
    reporter.stage(Phase.TRAINING, f"Training a {model_spec.type.value} model")
    outcome = fit(
        series,
        model_spec,
        timezone=settings.timezone,
        holidays=settings.holidays,
        on_epoch=reporter.epoch,
        raw=raw,
        meter_type=spec.meter_type,
        max_gap_hours=settings.max_gap_hours,
    )
    reporter.training_done(
        outcome.epochs_run,
        f"Trained {outcome.epochs_run} epochs in {outcome.fit_seconds:.1f} s; holdout MAE "
        f"{outcome.metrics.model.mae:.4g} (naiveDaily "
        f"{outcome.metrics.baselines['naiveDaily'].mae:.4g}, naiveWeekly "
        f"{outcome.metrics.baselines['naiveWeekly'].mae:.4g})",
    )

    reporter.stage(Phase.SAVING, "Saving the model")
    completed = now_utc()
    store = ModelStore(models_dir)
    with third_party_warnings_silenced():
        promotion = _promotion(store, spec, model_spec, raw, series, outcome)
    version = new_version()
    metadata = _metadata(
        job, source, series, outcome, pull_seconds, import_seconds, completed, promotion, version
    )
    sample = _sample_inputs(outcome)
    with third_party_warnings_silenced():
        saved = store.save(
            spec.meter_type,
            spec.meter_id,
            write=lambda path: outcome.model.save(path),
            verify=_verify(outcome.model, sample),
            metadata=metadata.model_dump(mode="json", by_alias=True, exclude_none=True),
            keep=settings.keep_model_versions,
            version=version,
            promote=promotion.promoted,
        )
    reporter.stage(Phase.SAVING, f"Saved model version {saved.version}", 1.0)

    result = TrainingResult(
        model_path=saved.model_path,
        data_points=series.report.valid_points,
        training_completed=completed,
        metrics=outcome.metrics,
        promoted=promotion.promoted,
        promotion_reason=promotion.reason,
    )
    text = (
        f"Model trained and saved at models/{saved.model_path}; holdout MAE "
        f"{outcome.metrics.model.mae:.4g} vs naiveDaily "
        f"{outcome.metrics.baselines['naiveDaily'].mae:.4g}, naiveWeekly "
        f"{outcome.metrics.baselines['naiveWeekly'].mae:.4g}; "
        f"{'now current' if promotion.promoted else 'not promoted'}"
    )[:1024]
    reporter.succeed(result, text)
    return TerminationMessage(
        phase="Succeeded", reason=Reason.TRAINING_SUCCEEDED, message=text, result=result
    )


def _sample_inputs(outcome: TrainingOutcome) -> dict[str, Any]:
    return outcome.extra["sample_inputs"]  # type: ignore[no-any-return]


def _promotion(
    store: ModelStore,
    spec: Any,
    model_spec: Any,
    raw: pd.DataFrame,
    series: Any,
    outcome: TrainingOutcome,
) -> Promotion:
    """The gate's decision; the current version forecasts the same holdout through the same
    path to be compared (promoting.py)."""
    current = store.current(spec.meter_type, spec.meter_id)
    previous_mae: float | None = None
    note: str | None = None
    if current is not None and outcome.holdout is not None:
        try:
            previous = open_version(
                store.meter_dir(spec.meter_type, spec.meter_id) / VERSIONS / current,
                meter_type=spec.meter_type,
                meter_id=spec.meter_id,
            )
            if previous.predictor.resolution != model_spec.resolution:
                note = f"it forecasts at {previous.predictor.resolution.value}"
            else:
                previous_mae = _mae_on_same_holdout(previous, raw, series, outcome.holdout)
                if previous_mae is None:
                    note = "no holdout point in common"
        except (TrainerError, ValueError, OSError) as error:
            note = f"it could not be read or run ({str(error)[:160]})"
    return decide(
        model_spec.promote,
        outcome.metrics,
        previous_version=current,
        previous_mae=previous_mae,
        previous_note=note,
    )


def _mae_on_same_holdout(
    previous: ModelVersion, raw: pd.DataFrame, series: Any, holdout: HoldoutForecasts
) -> float | None:
    split = int(holdout.positions[0])
    theirs = holdout_forecasts(previous.predictor, raw, series, split)
    baselines = naive_forecasts(series, holdout.positions)
    scored = scored_mask(series, holdout.positions, baselines)
    common = scored & np.isin(holdout.positions, theirs.positions)
    if not common.any():
        return None
    by_position = dict(zip(theirs.positions.tolist(), theirs.forecast.tolist(), strict=True))
    positions = holdout.positions[common]
    actual = series.frame["consumption"].to_numpy(dtype=np.float64)[positions]
    forecast = np.array([by_position[p] for p in positions.tolist()])
    return float(np.mean(np.abs(forecast - actual)))


def _metadata(
    job: StandaloneTrainingJob,
    source: InfluxSource | None,
    series: Any,
    outcome: TrainingOutcome,
    pull_seconds: float,
    import_seconds: float,
    completed: datetime,
    promotion: Promotion,
    version: str,
) -> ModelMetadata:
    spec = job.spec
    model_spec = spec.effective_model
    index = series.frame.index
    predictor = outcome.predictor
    if predictor is None:
        raise TrainerError("training produced no forecasting configuration")
    return ModelMetadata.model_validate(
        {
            "schemaVersion": SCHEMA_VERSION,
            "version": version,
            "meter": {"id": spec.meter_id, "type": spec.meter_type.value},
            "dataRange": {
                "start": spec.start,
                "end": spec.end,
                "first": index[0].to_pydatetime() if len(index) else None,
                "resolution": model_spec.resolution.value,
                "points": series.report.valid_points,
            },
            "cleaning": series.report.as_dict(),
            "model": model_spec,
            "features": predictor.features,
            "forecaster": {
                "kind": FORECASTER_KERAS,
                "file": MODEL_FILE,
                "modelType": model_spec.type.value,
            },
            "nonNegative": predictor.non_negative,
            "metrics": outcome.metrics,
            "interval": predictor.interval,
            "trainPoints": outcome.train_points,
            "epochsRun": outcome.epochs_run,
            "history": {"loss": outcome.history["loss"], "valLoss": outcome.history["val_loss"]},
            "holdoutSeries": outcome.holdout_series,
            "timings": {
                "dataPullSeconds": round(pull_seconds, 3),
                "tensorflowImportSeconds": round(import_seconds, 3),
                "fitSeconds": round(outcome.fit_seconds, 3),
            },
            "source": (
                {"dialect": source.dialect.value, "url": source.url} if source is not None else None
            ),
            "libraries": _versions(),
            "trainingJob": {
                "name": job.metadata.name,
                "namespace": job.metadata.namespace,
                "uid": job.metadata.uid,
            },
            "trainingCompleted": completed,
            "promotion": promotion,
        },
        by_alias=True,
        by_name=False,
    )
