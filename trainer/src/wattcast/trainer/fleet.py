"""`wattcast-fleet-shard`: one shard of a FleetTrainingJob, in one process (docs/trainer.md).

Each pod of a FleetTrainingJob's Indexed Job runs this with its completion index
(JOB_COMPLETION_INDEX). It reads the fleet (name, namespace, uid, spec) from the file the
operator mounts from the fleet's ConfigMap, takes its slice of the fixed meter list
(`shard_of`), and trains each meter through the same path as a TrainingJob's trainer
(`pipeline.run_job`: the same data rules, model store contract and promotion gate), importing
TensorFlow once for all of them. `--workers` meters train at once in threads (default: one
per two usable CPUs), so a pod with cores to spare uses them.

Per meter, the outcome goes to the model store (`fleets/<uid>/meters/<meterId>.json`) as soon
as it is final: a model saved, or a permanent failure (no data, too little data). A retried
shard skips the meters that have one, so it never retrains a finished meter. A retriable
failure (InfluxDB unreachable, an unexpected error) writes no outcome: the shard goes on with
the other meters, then exits 1 so the Job retries the index (up to backoffLimitPerIndex). After
`UNREACHABLE_STREAK` meters in a row found InfluxDB unreachable, the rest of the shard is not
tried in this attempt (each would wait for its own timeout) and fails with the same reason.

While it runs, the shard says how many of its meters are finished (`on_progress`: at the start,
counting those finished earlier, then after each meter); in a pod that goes to the fleet's
progress Lease. The shard's report (`ShardReport`: counts over the whole shard, the MAE /
best-baseline histogram, the first failures) goes to the termination log, where the operator
reads it.
Exit codes: 0 every meter finished (some may have failed for good), 1 retry the shard,
2 the fleet itself is unusable (the Job fails the index at once).

Standalone (for a test or a laptop; `fleet_main`): `wattcast-fleet-shard --fleet fleet.json
--index 0 --models-dir DIR --termination-log FILE`, with the source in INFLUX_*.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wattcast.crd import Reason, constants
from wattcast.crd.fleettrainingjob import (
    MAX_SHARD_REPORT_FAILURES,
    RATIO_BUCKETS,
    FleetTrainingJobSpec,
    MeterFailure,
    MeterOutcome,
    ShardReport,
    fleet_dir,
    fleet_outcome_path,
    ratio_bucket,
    shard_of,
)
from wattcast.forecasting.errors import InvalidConfigError, TrainerError, public_message

log = logging.getLogger("wattcast.trainer.fleet")

ENV_FLEET_FILE = "WATTCAST_FLEET_FILE"
METERS_FILE = "meters.json"
UNREACHABLE_STREAK = 3
SHARD_SUCCEEDED = "ShardSucceeded"


@dataclass(frozen=True)
class Fleet:
    """The fleet a shard belongs to, as the operator's ConfigMap describes it."""

    name: str
    namespace: str
    uid: str
    spec: FleetTrainingJobSpec

    @classmethod
    def from_document(cls, document: Any, where: str) -> Fleet:
        if not isinstance(document, dict):
            raise InvalidConfigError(f"{where} is not a fleet document")
        try:
            spec = FleetTrainingJobSpec.model_validate(document.get("spec"))
            name, namespace, uid = (str(document[key]) for key in ("name", "namespace", "uid"))
            fleet_dir(uid)
        except (ValidationError, KeyError, ValueError) as error:
            raise InvalidConfigError(f"{where} is not a valid fleet: {error}") from None
        return cls(name=name, namespace=namespace, uid=uid, spec=spec)

    @classmethod
    def from_file(cls, path: Path) -> Fleet:
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise InvalidConfigError(f"cannot read the fleet file {path}: {error}") from None
        return cls.from_document(document, str(path))


def meter_list(fleet: Fleet, models_dir: Path) -> list[str]:
    """The fleet's fixed meter list: spec.meters.ids, or what discovery stored."""
    if fleet.spec.meters.ids is not None:
        return list(fleet.spec.meters.ids)
    path = models_dir / fleet_dir(fleet.uid) / METERS_FILE
    try:
        meters = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise TrainerError(f"the fleet's discovered meter list is not readable: {error}") from None
    if not isinstance(meters, list) or not all(isinstance(m, str) for m in meters):
        raise InvalidConfigError("the fleet's discovered meter list is not a list of ids")
    return meters


def read_outcome(models_dir: Path, uid: str, meter: str) -> MeterOutcome | None:
    """The meter's final outcome in this fleet, if an earlier attempt recorded one."""
    path = models_dir / fleet_outcome_path(uid, meter)
    try:
        return MeterOutcome.model_validate_json(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("ignoring an unreadable outcome of meter %s: %s", meter, error)
        return None


def write_outcome(models_dir: Path, uid: str, outcome: MeterOutcome) -> None:
    """Record the outcome atomically (write, then rename): a killed pod leaves none or one."""
    path = models_dir / fleet_outcome_path(uid, outcome.meter)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(outcome.model_dump_json(by_alias=True, exclude_none=True))
    os.replace(partial, path)


@dataclass
class Retriable:
    """A meter this attempt could not finish; a retry of the shard tries it again."""

    meter: str
    reason: str
    message: str


@dataclass
class ShardRun:
    """What one attempt of a shard found and did."""

    index: int
    meters: list[str]
    outcomes: dict[str, MeterOutcome] = field(default_factory=dict)
    retriable: list[Retriable] = field(default_factory=list)
    skipped: int = 0
    fit_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def report(self) -> ShardReport:
        histogram = [0] * RATIO_BUCKETS
        for outcome in self.outcomes.values():
            ratio = outcome.ratio
            if outcome.succeeded and ratio is not None:
                histogram[ratio_bucket(ratio)] += 1
        finals = [o for o in self.outcomes.values() if not o.succeeded]
        failures = [
            MeterFailure(meter=r.meter, reason=r.reason, message=r.message[:200])
            for r in self.retriable
        ] + [MeterFailure(meter=o.meter, reason=o.reason, message=o.message[:200]) for o in finals]
        succeeded = [o for o in self.outcomes.values() if o.succeeded]
        if self.retriable:
            first = self.retriable[0]
            phase, reason = "Failed", first.reason
            message = (
                f"{len(self.retriable)} of {len(self.meters)} meters not finished "
                f"({first.reason}: {first.message})"
            )
        else:
            phase, reason = "Succeeded", SHARD_SUCCEEDED
            message = (
                f"{len(succeeded)} of {len(self.meters)} meters trained, {len(finals)} failed"
                + (f", {self.skipped} finished earlier" if self.skipped else "")
            )
        return ShardReport(
            index=self.index,
            phase=phase,
            reason=reason,
            message=message[:512],
            meters=len(self.meters),
            succeeded=len(succeeded),
            failed=len(finals) + len(self.retriable),
            promoted=sum(1 for o in succeeded if o.promoted),
            beat_baseline=sum(1 for o in succeeded if o.beat_baseline),
            histogram=histogram,
            failures=failures[:MAX_SHARD_REPORT_FAILURES],
            fit_seconds=round(self.fit_seconds, 3),
            wall_seconds=round(time.monotonic() - self.started, 3),
        )


TrainOne = Callable[[str], tuple[int, Any, float]]


def _outcome_of(meter: str, code: int, message: Any, seconds: float) -> MeterOutcome | None:
    """The final outcome of one meter's run, or None when it is worth a retry."""
    if code == constants.EXIT_OK and message.result is not None:
        result = message.result
        metrics = result.metrics
        mae = best = None
        if metrics is not None:
            mae = metrics.model.mae
            best = min((b.mae for b in metrics.baselines.values()), default=None)
        version = result.model_path.split("/")[-2] if "/" in result.model_path else None
        return MeterOutcome(
            meter=meter,
            succeeded=True,
            reason=Reason.TRAINING_SUCCEEDED,
            message=message.message[:512],
            version=version,
            model_path=result.model_path,
            promoted=bool(result.promoted),
            beat_baseline=mae is not None and best is not None and mae < best,
            mae=mae,
            best_baseline_mae=best,
            seconds=round(seconds, 3),
        )
    if code == constants.EXIT_PERMANENT:
        return MeterOutcome(
            meter=meter,
            succeeded=False,
            reason=message.reason,
            message=message.message[:512],
            seconds=round(seconds, 3),
        )
    return None


def run_shard(
    fleet: Fleet,
    index: int,
    *,
    models_dir: Path,
    train_one: TrainOne,
    workers: int = 1,
    meters: Iterable[str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ShardRun:
    """Train shard `index` of the fleet; see the module doc."""
    everything = list(meters) if meters is not None else meter_list(fleet, models_dir)
    mine = shard_of(everything, index, fleet.spec.effective_meters_per_pod)
    run = ShardRun(index=index, meters=mine)
    todo = []
    for meter in mine:
        earlier = read_outcome(models_dir, fleet.uid, meter)
        if earlier is not None:
            run.outcomes[meter] = earlier
            run.skipped += 1
        else:
            todo.append(meter)
    log.info(
        "shard %d: %d meters, %d finished earlier, %d to train with %d workers",
        index,
        len(mine),
        run.skipped,
        len(todo),
        workers,
    )
    streak = 0

    def progressed() -> None:
        if on_progress is not None:
            on_progress(len(run.outcomes) + len(run.retriable))

    progressed()

    def one(meter: str) -> None:
        try:
            attempt(meter)
        finally:
            progressed()

    def attempt(meter: str) -> None:
        nonlocal streak
        if streak >= UNREACHABLE_STREAK:
            run.retriable.append(
                Retriable(
                    meter,
                    Reason.INFLUX_UNAVAILABLE,
                    "not tried: InfluxDB was unreachable for the meters before it",
                )
            )
            return
        try:
            code, message, seconds = train_one(meter)
        except Exception as error:  # run_job reports expected failures; this is a bug
            run.retriable.append(Retriable(meter, Reason.TRAINING_ERROR, public_message(error)))
            return
        outcome = _outcome_of(meter, code, message, seconds)
        if outcome is None:
            streak = streak + 1 if message.reason == Reason.INFLUX_UNAVAILABLE else 0
            run.retriable.append(Retriable(meter, message.reason, message.message))
            return
        streak = 0
        write_outcome(models_dir, fleet.uid, outcome)
        run.outcomes[meter] = outcome
        if outcome.succeeded and outcome.seconds is not None:
            run.fit_seconds += outcome.seconds

    if workers <= 1:
        for meter in todo:
            one(meter)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="meter") as pool:
            list(pool.map(one, todo))
    return run
