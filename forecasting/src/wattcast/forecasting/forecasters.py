"""The forecaster interface, shared by the models and the baselines, and loading a saved one.

Every forecaster works on the same inputs, a FeatureSet (the features built exactly as in
training, with the series they came from), as statsforecast's models share `fit`/`predict`:

- :class:`Forecaster`: `fit` on some rows of a FeatureSet, then `predict` every row of one.
  The trainer's networks (wattcast.trainer.fitting) and the seasonal-naive baselines
  (:mod:`wattcast.forecasting.baselines`) are Forecasters, and the trainer scores them all
  the same way (wattcast.trainer.evaluation).
- :class:`FittedForecaster`: `predict` only, what the forecasting path asks of a saved model
  version (fitted when it was trained; it is never fitted again).

A model version's metadata names its kind (`forecaster.kind`); `load_forecaster` finds the
loader for it. A new kind (a statistical or gradient-boosted model) adds a loader with
`register` and its name in the contract; no caller changes.

Keras models run on whatever Keras backend the process already has (TensorFlow in the
trainer); elsewhere on Keras' numpy backend, so the API needs no TensorFlow
(docs/forecasts.md has the measurements behind that choice).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from wattcast.crd import ModelType
from wattcast.crd.modelstore import FORECASTER_KERAS, ModelMetadata
from wattcast.forecasting.errors import ModelMismatchError
from wattcast.forecasting.features.building import FeatureSet
from wattcast.forecasting.inputs import model_inputs

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SERVING_BACKEND = "numpy"


PREDICT_BATCH_ROWS = 4096


def keras_predict(model: Any, inputs: dict[str, Any]) -> FloatArray:
    """`model`'s outputs for `inputs`, called directly in batches of PREDICT_BATCH_ROWS rows.

    Not `model.predict`: that builds a data pipeline and traces a graph function for every
    new model object (0.2 s a call in a trainer profile, ten calls a meter: the holdout's
    origins, the combination, the saved file's check); a direct call runs the same layers.
    """
    rows = len(next(iter(inputs.values())))
    chunks = [
        np.asarray(
            model(
                {name: value[start : start + PREDICT_BATCH_ROWS] for name, value in inputs.items()}
            ),
            dtype=np.float64,
        ).reshape(-1)
        for start in range(0, rows, PREDICT_BATCH_ROWS)
    ]
    return np.concatenate(chunks) if chunks else np.zeros(0)


class FittedForecaster(Protocol):
    """A forecaster ready to forecast: a saved model version, or a Forecaster after `fit`."""

    def predict(self, features: FeatureSet) -> FloatArray:
        """Point forecasts, in the meter's units, for every row of `features`."""
        ...


class Forecaster(FittedForecaster, Protocol):
    """A forecaster that learns from the training rows of a FeatureSet."""

    def fit(self, features: FeatureSet, rows: IntArray) -> None:
        """Learn from the rows `rows` of `features` (their targets are valid)."""
        ...


Loader = Callable[[Path, ModelMetadata], FittedForecaster]
_LOADERS: dict[str, Loader] = {}


def register(kind: str, loader: Loader) -> None:
    """Make `load_forecaster` load versions whose `forecaster.kind` is `kind`."""
    _LOADERS[kind] = loader


class UnknownForecasterError(ValueError):
    """The version's forecaster kind is not one this release can load."""


def load_forecaster(version_dir: Path, metadata: ModelMetadata) -> FittedForecaster:
    loader = _LOADERS.get(metadata.forecaster.kind)
    if loader is None:
        raise UnknownForecasterError(
            f"model version {metadata.version} is a {metadata.forecaster.kind!r} model; this "
            f"release can load {', '.join(sorted(_LOADERS))}"
        )
    return loader(version_dir, metadata)


@lru_cache(maxsize=1)
def keras_for_serving() -> tuple[ModuleType, float]:
    """Keras, imported once; on the numpy backend unless the process chose one already (the
    trainer imports it on TensorFlow first). Returns the module and the import seconds."""
    started = time.perf_counter()
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", SERVING_BACKEND)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import keras
    return keras, time.perf_counter() - started


class KerasForecaster:
    """A Keras 3 model: the named inputs of its model type, output times the scale."""

    def __init__(self, model: Any, model_type: ModelType) -> None:
        self.model = model
        self.model_type = model_type

    @classmethod
    def load(cls, version_dir: Path, metadata: ModelMetadata) -> KerasForecaster:
        keras, _ = keras_for_serving()
        path = version_dir / metadata.forecaster.file
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                model = keras.models.load_model(path, compile=False)
        except Exception as error:  # Keras raises many kinds for a damaged or foreign file
            raise ModelMismatchError(
                f"cannot load the model file {path.name} of version {metadata.version}: "
                f"{type(error).__name__}: {str(error)[:200]}"
            ) from None
        return cls(model, ModelType(metadata.forecaster.model_type))

    def predict(self, features: FeatureSet) -> FloatArray:
        rows = np.arange(len(features.positions))
        inputs = model_inputs(self.model_type, features, rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            result: FloatArray = keras_predict(self.model, inputs) * features.scale
        return result


register(FORECASTER_KERAS, KerasForecaster.load)
