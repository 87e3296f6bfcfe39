"""`wattcast-trainer`: the trainer pod's command, and a standalone trainer (docs/design.md §3.1,
§8).

In a pod: reads the TrainingJob named by WATTCAST_TRAININGJOB_NAME/_NAMESPACE through the
Kubernetes API (in-cluster config, else KUBECONFIG), the source from INFLUX_*, reports progress
to the TrainingJob's status, and writes the result to /dev/termination-log.

Standalone:

    wattcast-trainer --spec trainingjob.yaml --models-dir DIR --termination-log FILE

reads the YAML a user would `kubectl apply` (its spec.source may be a complete source with a
url; the token comes from INFLUX_TOKEN), shows progress on the terminal and writes the result
where the pod would. Exit codes: 0 success, 2 permanent failure, anything else retriable.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from wattcast.crd import Reason, TerminationMessage, constants
from wattcast.forecasting.errors import InvalidConfigError, TrainerError, public_message
from wattcast.forecasting.settings import get_influx_env
from wattcast.trainer.job_loading import (
    StandaloneTrainingJob,
    load_spec_file,
    read_trainingjob,
    resolve_source,
)
from wattcast.trainer.pipeline import run_job
from wattcast.trainer.progress import (
    ConsoleDisplay,
    KubernetesStatusApi,
    LogDisplay,
    ProgressReporter,
    ProgressSink,
    StatusPatcher,
    kubernetes_api_client,
    write_termination_log,
)
from wattcast.trainer.settings import get_settings

log = logging.getLogger("wattcast.trainer")

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0] if __doc__ else None)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("urllib3", "kubernetes", "absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def train(
    spec_file: Path | None,
    models_dir: Path | None,
    termination_log: Path | None,
    *,
    show_progress: bool,
) -> int:
    """Run one training; returns the exit code."""
    settings = get_settings()
    influx_env = get_influx_env()
    sinks: list[ProgressSink] = []
    if spec_file is None and termination_log is None:
        termination_log = settings.termination_log
    reporter = ProgressReporter(sinks)
    try:
        job: StandaloneTrainingJob
        if spec_file is not None:
            job = load_spec_file(spec_file)
            sinks.append(ConsoleDisplay() if show_progress else LogDisplay())
        else:
            name, namespace = settings.trainingjob_name, settings.trainingjob_namespace
            if not name or not namespace:
                raise InvalidConfigError(
                    f"no TrainingJob: set {constants.ENV_TRAININGJOB_NAME} and "
                    f"{constants.ENV_TRAININGJOB_NAMESPACE} (in a pod), or pass --spec FILE"
                )
            try:
                api_client = kubernetes_api_client()
            except Exception as error:
                raise TrainerError(
                    f"no Kubernetes configuration to read TrainingJob {namespace}/{name}",
                    detail=repr(error),
                ) from None
            job = read_trainingjob(
                api_client, name=name, namespace=namespace, timeout=settings.api_timeout_seconds
            )
            sinks.append(LogDisplay())
            sinks.append(
                StatusPatcher(
                    KubernetesStatusApi(
                        api_client,
                        name=name,
                        namespace=namespace,
                        timeout=settings.api_timeout_seconds,
                    ),
                    interval=settings.status_interval_seconds,
                    close_timeout=2 * settings.api_timeout_seconds,
                )
            )
        source = resolve_source(job.spec, influx_env)
        outcome = run_job(
            job,
            settings=settings,
            source=source,
            token=influx_env.token,
            models_dir=models_dir or settings.models_dir,
            reporter=reporter,
        )
        message, code = outcome.message, outcome.exit_code
    except TrainerError as error:
        log.error("training failed (%s): %s", error.reason, error.message)
        text = public_message(error)
        reporter.fail(f"{error.reason}: {text}")
        message = TerminationMessage(phase="Failed", reason=error.reason, message=text[:1024])
        code = error.exit_code
    except Exception as error:
        message = TerminationMessage(
            phase="Failed", reason=Reason.TRAINING_ERROR, message=public_message(error)[:1024]
        )
        code = 1
    finally:
        reporter.close()
    write_termination_log(termination_log, message)
    if spec_file is not None:
        typer.echo(message.model_dump_json(by_alias=True, exclude_none=True, indent=2))
    return code


@app.command()
def main(
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="Standalone: a TrainingJob YAML file (what you would kubectl apply).",
        ),
    ] = None,
    models_dir: Annotated[
        Path | None,
        typer.Option(
            "--models-dir", help="Root of the model store (default: WATTCAST_MODELS_DIR, /models)."
        ),
    ] = None,
    termination_log: Annotated[
        Path | None,
        typer.Option(
            "--termination-log",
            help="Where to write the result JSON (pod default: /dev/termination-log).",
            dir_okay=False,
        ),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on the terminal.")
    ] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Train one meter's forecasting model from its TrainingJob."""
    _setup_logging(verbose)
    show = progress and sys.stderr.isatty()
    raise typer.Exit(train(spec, models_dir, termination_log, show_progress=show))
