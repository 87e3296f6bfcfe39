"""metadata.json of a new model version, from what the run produced.

The keys and their meaning are the contract's (:class:`wattcast.crd.modelstore.ModelMetadata`,
validated here before anything is written); this module only fills them in.
"""

from __future__ import annotations

import platform
from datetime import datetime
from importlib import metadata as importlib_metadata

from wattcast.crd import InfluxSource
from wattcast.crd.modelstore import (
    FORECASTER_KERAS,
    MODEL_FILE,
    SCHEMA_VERSION,
    ModelMetadata,
    Promotion,
)
from wattcast.forecasting.preparation import PreparedSeries
from wattcast.trainer.job_loading import StandaloneTrainingJob
from wattcast.trainer.training import TrainingOutcome


def library_versions() -> dict[str, str]:
    """The versions that made the model (metadata.json `libraries`)."""
    versions = {"python": platform.python_version()}
    for package in ("wattcast-trainer", "tensorflow-cpu", "keras", "numpy", "pandas"):
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def version_metadata(
    job: StandaloneTrainingJob,
    source: InfluxSource | None,
    series: PreparedSeries,
    outcome: TrainingOutcome,
    *,
    timings: dict[str, float],
    completed: datetime,
    promotion: Promotion,
    version: str,
) -> ModelMetadata:
    """The version's metadata, validated against the contract."""
    spec = job.spec
    model_spec = spec.effective_model
    index = series.frame.index
    predictor = outcome.predictor
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
            "timings": timings,
            "source": (
                {"dialect": source.dialect.value, "url": source.url} if source is not None else None
            ),
            "libraries": library_versions(),
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
