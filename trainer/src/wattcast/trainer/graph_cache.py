"""One traced training graph per network shape, shared by every meter a process trains.

Tracing a network's training graph cost about as much as training it on 8 weeks of hourly data
(docs/trainer.md), and a fleet shard trains hundreds of networks that differ only in their
weights and in their meter's normalisation constants. So the graphs are traced once for a copy
of the network whose normalisation is the identity (`models.normalising.without_normalisation`):
each meter's inputs are standardised beforehand, its freshly initialised weights are loaded into
the copy, and the trained weights are copied back into the meter's own network, the one saved.

The key is what the graphs depend on: the network's configuration without its initial values
and normalisation constants, the optimizer's configuration and the batch size. One cache per
thread (a shard may train meters in threads), bounded.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from wattcast.trainer.epoch_loop import Arrays, EpochCallback, EpochLoop
from wattcast.trainer.keras_backend import load_keras
from wattcast.trainer.models.normalising import standardised, without_normalisation

CACHE_SIZE = 8
_local = threading.local()


def graph_key(model: Any, batch_size: int) -> str:
    """What the training graphs of `model` depend on, as a string."""
    config = model.get_config()
    for layer in config["layers"]:
        layer["config"] = {
            key: value
            for key, value in layer["config"].items()
            if not key.endswith("_initializer") and key not in ("mean", "variance")
        }
    optimizer = {k: v for k, v in model.optimizer.get_config().items() if k != "name"}
    return json.dumps([config, optimizer, batch_size], sort_keys=True, default=str)


def _loop_for(model: Any, batch_size: int, shapes: dict[str, tuple[int, ...]]) -> EpochLoop:
    loops: OrderedDict[str, EpochLoop] | None = getattr(_local, "loops", None)
    if loops is None:
        loops = _local.loops = OrderedDict()
    key = graph_key(model, batch_size)
    loop = loops.get(key)
    if loop is None:
        keras, _ = load_keras()
        loop = loops[key] = EpochLoop(without_normalisation(keras, model), batch_size, shapes)
        while len(loops) > CACHE_SIZE:
            loops.popitem(last=False)
    else:
        loops.move_to_end(key)
    return loop


def train_shared(
    model: Any,
    fit: tuple[Arrays, Any],
    validation: tuple[Arrays, Any],
    *,
    epochs: int,
    batch_size: int,
    patience: int,
    seed: int,
    on_epoch: EpochCallback | None = None,
) -> dict[str, list[float]]:
    """Train `model` (compiled, freshly initialised) through the shared graphs; returns the
    history, and leaves the trained weights in `model`."""
    shapes = {name: tuple(values.shape[1:]) for name, values in fit[0].items()}
    loop = _loop_for(model, batch_size, shapes)
    loop.model.set_weights(model.get_weights())
    history = loop.train(
        (standardised(model, dict(fit[0])), fit[1]),
        (standardised(model, dict(validation[0])), validation[1]),
        epochs=epochs,
        patience=patience,
        seed=seed,
        on_epoch=on_epoch,
    )
    model.set_weights(loop.model.get_weights())
    # The optimizer's state too, so the saved model is what a Keras fit would have saved.
    model.optimizer.build(model.trainable_variables)
    for mine, shared in zip(model.optimizer.variables, loop.model.optimizer.variables, strict=True):
        mine.assign(shared)
    return history
