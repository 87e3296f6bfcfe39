"""What every command shares: the typer app and its global options, the API client, the two
consoles, JSON output, errors as exit codes, and waiting for a job to finish."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from wattcast.cli.client import TRAININGJOBS, ApiClient, CliError, ExitCode
from wattcast.cli.render import (
    bar_fields,
    is_finished,
    job_panel,
    progress_bar,
    result_view,
    status_word,
)
from wattcast.cli.watching import wait_for_job
from wattcast.crd.times import rfc3339

DEFAULT_API_URL = "http://127.0.0.1:8000"

app = typer.Typer(
    name="wattcast",
    help="Train energy forecasting models on Kubernetes through the wattcast REST API.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"


@dataclass
class State:
    api_url: str
    token: str | None
    namespace: str | None
    output: Output
    timeout: float

    def client(self) -> ApiClient:
        return ApiClient(
            self.api_url, token=self.token, namespace=self.namespace, timeout=self.timeout
        )


def state_of(ctx: typer.Context) -> State:
    state = ctx.find_object(State)
    assert state is not None
    return state


stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def fail(error: CliError) -> typer.Exit:
    stderr.print(f"[red]error:[/red] {error.message}", markup=True, soft_wrap=True)
    return typer.Exit(int(error.code))


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")


@app.callback()
def main(
    ctx: typer.Context,
    api_url: Annotated[
        str, typer.Option(envvar="WATTCAST_API_URL", help="Base URL of the wattcast API.")
    ] = DEFAULT_API_URL,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="WATTCAST_API_TOKEN", help="Bearer token of the API.", show_default=False
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            envvar="WATTCAST_NAMESPACE", help="Namespace (default: the API's).", show_default=False
        ),
    ] = None,
    output: Annotated[
        Output, typer.Option("--output", "-o", help="table for people, json for scripts.")
    ] = Output.TABLE,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds one API request may take.")
    ] = 30.0,
) -> None:
    """Train energy forecasting models on Kubernetes through the wattcast REST API.

    Exit codes: 0 ok, 1 the job failed or was cancelled, 2 bad usage, 3 the API refused the
    request, 4 the API is unreachable or failing, 5 not finished yet.
    """
    ctx.obj = State(api_url, token, namespace, output, timeout)


def show(state: State, job: dict[str, Any]) -> None:
    if state.output is Output.JSON:
        print_json(job)
    else:
        stdout.print(job_panel(job))


def finish_code(job: dict[str, Any]) -> ExitCode:
    if not is_finished(job):
        return ExitCode.NOT_FINISHED
    return ExitCode.OK if status_word(job) == "SUCCESS" else ExitCode.JOB_FAILED


@dataclass(frozen=True)
class Shown:
    """How a kind is followed and shown: its collection, its live bar, its outcome view and
    its exit code (TrainingJob by default; wattcast.cli.fleet has the fleet's)."""

    collection: str = TRAININGJOBS
    bar: Callable[[Console], Progress] = progress_bar
    fields_of: Callable[[dict[str, Any]], dict[str, Any]] = bar_fields
    outcome: Callable[[dict[str, Any]], Any] = result_view
    code_of: Callable[[dict[str, Any]], ExitCode] = finish_code


# How a TrainingJob is followed and shown.
TRAININGJOB_SHOWN = Shown()


def wait_and_show(
    state: State,
    client: ApiClient,
    name: str,
    interval: float,
    limit: float | None,
    shown: Shown = TRAININGJOB_SHOWN,
) -> int:
    live = state.output is Output.TABLE and stderr.is_terminal
    job = wait_for_job(
        client,
        name,
        interval=interval,
        timeout=limit,
        console=stderr if live else None,
        collection=shown.collection,
        bar=shown.bar,
        fields_of=shown.fields_of,
    )
    if state.output is Output.JSON:
        print_json(job)
    else:
        stdout.print(shown.outcome(job))
    return int(shown.code_of(job))


def rfc3339_option(value: datetime, option: str) -> str:
    if value.tzinfo is None:
        raise fail(
            CliError(
                f"{option} needs a time zone, e.g. 2023-01-01T00:00:00Z or +01:00",
                ExitCode.USAGE,
            )
        )
    return rfc3339(value)
