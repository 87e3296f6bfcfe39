"""One TrainingJob run, stage by stage: data, preparation, training, saving, result.

`run_job` never raises for an expected failure: it returns the TerminationMessage and the exit
code (0 success, 2 permanent, 1 retriable), after reporting the failure to the sinks. The
model is saved only after training and scoring succeeded, so a failure leaves no partial model.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
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
from wattcast.crd.times import now_utc
from wattcast.forecasting.datasource import DataSource, MeterQuery, check_meter_id
from wattcast.forecasting.errors import TrainerError, public_message
from wattcast.forecasting.features.configuration import FeatureConfig
from wattcast.forecasting.forecasters import keras_predict
from wattcast.forecasting.influx.dialects import make_source
from wattcast.forecasting.preparation import freq_of, prepare, steps_per_day
from wattcast.trainer.job_loading import StandaloneTrainingJob
from wattcast.trainer.keras_backend import load_keras, third_party_warnings_silenced
from wattcast.trainer.metadata import version_metadata
from wattcast.trainer.progress import ProgressReporter
from wattcast.trainer.promoting import promotion
from wattcast.trainer.settings import TrainerSettings
from wattcast.trainer.store import ModelStore, new_version
from wattcast.trainer.training import required_days, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    message: TerminationMessage


def _verify(model: Any, inputs: dict[str, Any]) -> Any:
    """A check that the saved file forecasts exactly as the model in memory."""
    expected = keras_predict(model, inputs)

    def verify(path: Path) -> None:
        keras, _ = load_keras()
        loaded = keras.models.load_model(path)
        actual = keras_predict(loaded, inputs)
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

    freq = freq_of(model_spec.resolution)
    # The one feature configuration of this training: what the data must cover, what the
    # model is fitted on and what metadata.json records for every later forecast.
    config = FeatureConfig.from_spec(
        model_spec, steps_per_day(freq), timezone=settings.timezone, holidays=settings.holidays
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
        max_zero_hours=settings.max_zero_hours,
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
    outcome = train(
        series,
        model_spec,
        config,
        on_epoch=reporter.epoch,
        raw=raw,
        meter_type=spec.meter_type,
        max_gap_hours=settings.max_gap_hours,
        max_zero_hours=settings.max_zero_hours,
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
        decision = promotion(
            store,
            spec.meter_type,
            spec.meter_id,
            policy=model_spec.promote,
            resolution=model_spec.resolution,
            raw=raw,
            series=series,
            outcome=outcome,
        )
    version = new_version()
    metadata = version_metadata(
        job,
        source,
        series,
        outcome,
        timings={
            "dataPullSeconds": round(pull_seconds, 3),
            "tensorflowImportSeconds": round(import_seconds, 3),
            "fitSeconds": round(outcome.fit_seconds, 3),
        },
        completed=completed,
        promotion=decision,
        version=version,
    )
    with third_party_warnings_silenced():
        saved = store.save(
            spec.meter_type,
            spec.meter_id,
            write=lambda path: outcome.model.save(path),
            verify=_verify(outcome.model, outcome.sample_inputs),
            metadata=metadata.model_dump(mode="json", by_alias=True, exclude_none=True),
            keep=settings.keep_model_versions,
            version=version,
            promote=decision.promoted,
        )
    reporter.stage(Phase.SAVING, f"Saved model version {saved.version}", 1.0)

    result = TrainingResult(
        model_path=saved.model_path,
        data_points=series.report.valid_points,
        training_completed=completed,
        metrics=outcome.metrics,
        promoted=decision.promoted,
        promotion_reason=decision.reason,
    )
    text = (
        f"Model trained and saved at models/{saved.model_path}; holdout MAE "
        f"{outcome.metrics.model.mae:.4g} vs naiveDaily "
        f"{outcome.metrics.baselines['naiveDaily'].mae:.4g}, naiveWeekly "
        f"{outcome.metrics.baselines['naiveWeekly'].mae:.4g}; "
        f"{'now current' if decision.promoted else 'not promoted'}"
        + (
            f"; {outcome.unscored} valid holdout points not scored (no baseline forecast there)"
            if outcome.unscored
            else ""
        )
    )[:1024]
    reporter.succeed(result, text)
    return TerminationMessage(
        phase="Succeeded", reason=Reason.TRAINING_SUCCEEDED, message=text, result=result
    )
