"""`wattcast-fleet-shard`'s command line, and how it trains one meter (docs/trainer.md).

The pod's command: reads the fleet file and JOB_COMPLETION_INDEX, builds the source from
INFLUX_*, runs `fleet.run_shard` with a `meter_trainer`, and writes the shard's report to the
termination log. The shard's behaviour is `wattcast.trainer.fleet`'s docstring.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from wattcast.crd import InfluxSource, constants
from wattcast.crd.fleettrainingjob import DiscoveryReport, ShardReport
from wattcast.crd.trainingjob import ObjectMeta
from wattcast.forecasting.datasource import DataSource
from wattcast.forecasting.errors import InvalidConfigError, TrainerError, public_message
from wattcast.forecasting.settings import InfluxEnvSettings, get_influx_env
from wattcast.trainer.fleet import ENV_FLEET_FILE, Fleet, TrainOne, run_shard
from wattcast.trainer.fleet_discovery import discover
from wattcast.trainer.job_loading import StandaloneSpec, StandaloneTrainingJob, resolve_source
from wattcast.trainer.keras_backend import usable_cpus
from wattcast.trainer.pipeline import run_job
from wattcast.trainer.progress import (
    KubernetesLeaseApi,
    ProgressReporter,
    ShardProgress,
    StatusPatcher,
    kubernetes_api_client,
)
from wattcast.trainer.settings import TrainerSettings, get_settings

log = logging.getLogger("wattcast.trainer.fleet")


def meter_trainer(
    fleet: Fleet,
    *,
    settings: TrainerSettings,
    source: InfluxSource | None,
    token: SecretStr | None,
    models_dir: Path,
    data_source: DataSource | None = None,
) -> TrainOne:
    """A function training one meter of the fleet as a TrainingJob's trainer would:
    returns (exit code, TerminationMessage, seconds)."""
    spec = fleet.spec

    def train_one(meter: str) -> tuple[int, Any, float]:
        job = StandaloneTrainingJob(
            metadata=ObjectMeta(name=fleet.name, namespace=fleet.namespace, uid=fleet.uid),
            spec=StandaloneSpec(
                meter_id=meter,
                meter_type=spec.meter_type,
                start=spec.start,
                end=spec.end,
                source=spec.source,
                model=spec.model,
            ),
        )
        started = time.perf_counter()
        outcome = run_job(
            job,
            settings=settings,
            source=source,
            token=token,
            models_dir=models_dir,
            reporter=ProgressReporter([]),
            data_source=data_source,
        )
        return outcome.exit_code, outcome.message, time.perf_counter() - started

    return train_one


def default_workers() -> int:
    """One meter at a time per two usable CPUs (TensorFlow uses the other for its ops)."""
    return max(1, usable_cpus() // 2)


def shard_progress(fleet: Fleet, index: int, settings: TrainerSettings) -> ShardProgress | None:
    """The live progress sink of a shard pod: its fleet's Lease (named by the operator in
    WATTCAST_FLEET_PROGRESS_LEASE), through the pod's token. None outside a pod or without
    one: the shard then reports only at its end."""
    lease = settings.fleet_progress_lease
    if not lease:
        return None
    try:
        api_client = kubernetes_api_client()
    except Exception as error:  # no token: progress is a nicety, the report is what counts
        log.warning("no live progress (no Kubernetes configuration): %s", error)
        return None
    api = KubernetesLeaseApi(
        api_client, name=lease, namespace=fleet.namespace, timeout=settings.api_timeout_seconds
    )
    patcher = StatusPatcher(
        api,
        interval=settings.status_interval_seconds,
        close_timeout=2 * settings.api_timeout_seconds,
    )
    return ShardProgress(patcher, index)


def _write_report(path: Path | None, report: ShardReport) -> None:
    if path is None:
        return
    try:
        path.write_bytes(report.to_bytes())
    except OSError as error:
        log.warning("could not write the termination log %s: %s", path, error)


def shard_main(
    fleet_file: Path | None,
    index: int | None,
    models_dir: Path | None,
    termination_log: Path | None,
    workers: int | None,
    *,
    influx_env: InfluxEnvSettings | None = None,
    data_source: DataSource | None = None,
) -> int:
    """Run one shard from the environment a pod has; returns the exit code."""
    settings = get_settings()
    models = models_dir or settings.models_dir
    log_path = termination_log if termination_log is not None else settings.termination_log
    if index is None:
        index = int(os.environ.get(constants.ENV_JOB_COMPLETION_INDEX, "-1"))
    try:
        if index < 0:
            raise InvalidConfigError(
                f"no shard index: set {constants.ENV_JOB_COMPLETION_INDEX} or pass --index"
            )
        path = fleet_file or settings.fleet_file
        fleet = Fleet.from_file(path)
        env = influx_env or get_influx_env()
        source = None if data_source is not None else resolve_source(_source_spec(fleet), env)
        train_one = meter_trainer(
            fleet,
            settings=settings,
            source=source,
            token=env.token,
            models_dir=models,
            data_source=data_source,
        )
        progress = shard_progress(fleet, index, settings)
        try:
            run = run_shard(
                fleet,
                index,
                models_dir=models,
                train_one=train_one,
                workers=workers or default_workers(),
                on_progress=progress,
            )
        finally:
            if progress is not None:
                progress.close()
    except TrainerError as error:
        text = public_message(error)[:512]
        log.error("shard %s failed (%s): %s", index, error.reason, text)
        report = ShardReport(
            index=max(index or 0, 0), phase="Failed", reason=error.reason, message=text, meters=0
        )
        _write_report(log_path, report)
        return error.exit_code
    report = run.report()
    log.info("shard %d: %s", index, report.message)
    _write_report(log_path, report)
    return constants.EXIT_OK if report.phase == "Succeeded" else 1


def discover_main(
    fleet_file: Path | None, models_dir: Path | None, termination_log: Path | None
) -> int:
    """Discover the fleet's meters once (wattcast.trainer.fleet_discovery); the exit code."""
    settings = get_settings()
    models = models_dir or settings.models_dir
    log_path = termination_log if termination_log is not None else settings.termination_log
    try:
        path = fleet_file or settings.fleet_file
        fleet = Fleet.from_file(path)
        env = get_influx_env()
        source = resolve_source(_source_spec(fleet), env)
        meters = discover(fleet, source, env.token, models, settings.influx_timeout_seconds)
        report = DiscoveryReport(
            phase="Succeeded",
            reason="MetersDiscovered",
            message=f"{len(meters)} meters",
            meters=len(meters),
        )
        code = constants.EXIT_OK
    except TrainerError as error:
        text = public_message(error)[:512]
        report = DiscoveryReport(phase="Failed", reason=error.reason, message=text)
        code = error.exit_code
    log.info("discovery: %s", report.message)
    if log_path is not None:
        try:
            log_path.write_bytes(report.model_dump_json(by_alias=True).encode())
        except OSError as error:
            log.warning("could not write the termination log %s: %s", log_path, error)
    return code


def _source_spec(fleet: Fleet) -> StandaloneSpec:
    """A spec resolve_source reads the source reference from (the meter is irrelevant)."""
    spec = fleet.spec
    return StandaloneSpec(
        meter_id="fleet",
        meter_type=spec.meter_type,
        start=spec.start,
        end=spec.end,
        source=spec.source,
    )


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0] if __doc__ else None)


@app.command()
def main(
    fleet_file: Annotated[
        Path | None,
        typer.Option(
            "--fleet", help=f"The fleet JSON (default: ${ENV_FLEET_FILE}).", dir_okay=False
        ),
    ] = None,
    index: Annotated[
        int | None,
        typer.Option(
            "--index", help=f"The shard (default: ${constants.ENV_JOB_COMPLETION_INDEX}).", min=0
        ),
    ] = None,
    models_dir: Annotated[
        Path | None, typer.Option("--models-dir", help="Root of the model store.")
    ] = None,
    termination_log: Annotated[
        Path | None,
        typer.Option("--termination-log", help="Where the shard report goes.", dir_okay=False),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Meters trained at once.", min=1, max=64)
    ] = None,
    discover_meters: Annotated[
        bool,
        typer.Option("--discover", help="Discover the fleet's meters (once) instead of training."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Train one shard of a FleetTrainingJob."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("urllib3", "absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if discover_meters:
        raise typer.Exit(discover_main(fleet_file, models_dir, termination_log))
    raise typer.Exit(shard_main(fleet_file, index, models_dir, termination_log, workers))
