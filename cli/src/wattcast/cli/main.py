"""`wattcast`: the command line of the wattcast REST API (typer + rich + httpx).

    wattcast train meter1 --type electricity --start 2023-01-01T00:00:00Z \
        --end 2024-01-01T00:00:00Z --wait
    wattcast list --phase Training
    wattcast status NAME [--watch]
    wattcast result NAME
    wattcast suspend|resume|cancel|delete NAME

Where the API is and who we are: `--api-url` / `WATTCAST_API_URL` (default
http://127.0.0.1:8000), `--token` / `WATTCAST_API_TOKEN`, `--namespace` /
`WATTCAST_NAMESPACE`. `--output json` prints the API's JSON for scripts; errors go to stderr
and the exit code says what happened (`ExitCode`, docs/cli.md).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console

from wattcast.cli.client import ApiClient, CliError, ExitCode
from wattcast.cli.render import (
    coloured,
    forecast_table,
    is_finished,
    job_panel,
    jobs_table,
    result_view,
    status_word,
)
from wattcast.cli.watching import wait_for_job

# The contract's enums: the CLI offers exactly the values the TrainingJob schema accepts.
from wattcast.crd import MeterType, ModelType, Phase
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


def _state(ctx: typer.Context) -> State:
    state = ctx.find_object(State)
    assert state is not None
    return state


stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def _fail(error: CliError) -> typer.Exit:
    stderr.print(f"[red]error:[/red] {error.message}", markup=True, soft_wrap=True)
    return typer.Exit(int(error.code))


def _print_json(value: Any) -> None:
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


def _show(state: State, job: dict[str, Any]) -> None:
    if state.output is Output.JSON:
        _print_json(job)
    else:
        stdout.print(job_panel(job))


def _finish_code(job: dict[str, Any]) -> ExitCode:
    if not is_finished(job):
        return ExitCode.NOT_FINISHED
    return ExitCode.OK if status_word(job) == "SUCCESS" else ExitCode.JOB_FAILED


def _wait(state: State, client: ApiClient, name: str, interval: float, limit: float | None) -> int:
    live = state.output is Output.TABLE and stderr.is_terminal
    job = wait_for_job(
        client, name, interval=interval, timeout=limit, console=stderr if live else None
    )
    if state.output is Output.JSON:
        _print_json(job)
    else:
        stdout.print(result_view(job))
    return int(_finish_code(job))


@app.command()
def train(
    ctx: typer.Context,
    meter_id: Annotated[str, typer.Argument(help="Meter id (the InfluxDB tag meter_id).")],
    start: Annotated[
        datetime,
        typer.Option(help="Start of the data range (inclusive), e.g. 2023-01-01T00:00:00Z."),
    ],
    end: Annotated[datetime, typer.Option(help="End of the data range (exclusive).")],
    meter_type: Annotated[
        MeterType, typer.Option("--type", "-t", help="What the meter measures.")
    ] = MeterType.ELECTRICITY,
    name: Annotated[
        str | None, typer.Option(help="Name of the TrainingJob (default: the API picks a UUID).")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="A configured InfluxDB source (default: the default one).")
    ] = None,
    model_type: Annotated[ModelType | None, typer.Option(help="Model to fit.")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, max=500, help="Training epochs.")] = None,
    lookback_hours: Annotated[
        int | None, typer.Option(min=24, max=2016, help="History the model sees, in hours.")
    ] = None,
    horizon_hours: Annotated[
        int | None, typer.Option(min=1, max=168, help="How far ahead it forecasts, in hours.")
    ] = None,
    holdout_days: Annotated[
        int | None, typer.Option(min=1, max=90, help="Days kept out of training to score it.")
    ] = None,
    backoff_limit: Annotated[
        int | None, typer.Option(min=0, max=20, help="Retries of a failed trainer pod.")
    ] = None,
    deadline: Annotated[
        int | None, typer.Option(min=1, help="Seconds the whole run may take (retries too).")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Repeat a submission safely: same key, same TrainingJob.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Follow the job to its end with a progress bar.")
    ] = False,
    wait_timeout: Annotated[
        float | None, typer.Option(min=1, help="With --wait: give up after this many seconds.")
    ] = None,
    interval: Annotated[
        float,
        typer.Option(min=0.1, help="With --wait: seconds between reads without a stream."),
    ] = 1.0,
) -> None:
    """Submit a training job for one meter and range; --wait follows it to the end."""
    state = _state(ctx)
    body: dict[str, Any] = {
        "meterId": meter_id,
        "meterType": meter_type.value,
        "start": _rfc3339(start, "--start"),
        "end": _rfc3339(end, "--end"),
    }
    if name:
        body["name"] = name
    if source:
        body["source"] = {"name": source}
    model: dict[str, Any] = {}
    if model_type is not None:
        model["type"] = model_type.value
    for key, value in (
        ("epochs", epochs),
        ("lookbackHours", lookback_hours),
        ("horizonHours", horizon_hours),
        ("holdoutDays", holdout_days),
    ):
        if value is not None:
            model[key] = value
    if model:
        body["model"] = model
    if backoff_limit is not None:
        body["backoffLimit"] = backoff_limit
    if deadline is not None:
        body["activeDeadlineSeconds"] = deadline
    try:
        with state.client() as client:
            job = client.create(body, idempotency_key=idempotency_key)
            if not wait:
                if state.output is Output.JSON:
                    _print_json(job)
                else:
                    stdout.print(
                        f"submitted [bold]{job['name']}[/bold] ({coloured(status_word(job))}); "
                        f"follow it with: wattcast status {job['name']} --watch"
                    )
                return
            if state.output is Output.TABLE:
                stderr.print(f"submitted [bold]{job['name']}[/bold]")
            code = _wait(state, client, str(job["name"]), interval, wait_timeout)
    except CliError as error:
        raise _fail(error) from None
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    raise typer.Exit(code)


def _rfc3339(value: datetime, option: str) -> str:
    if value.tzinfo is None:
        raise _fail(
            CliError(
                f"{option} needs a time zone, e.g. 2023-01-01T00:00:00Z or +01:00",
                ExitCode.USAGE,
            )
        )
    return rfc3339(value)


@app.command()
def status(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The TrainingJob (the seed's task_id).")],
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Follow it to the end with a progress bar.")
    ] = False,
    wait_timeout: Annotated[
        float | None, typer.Option(min=1, help="With --watch: give up after this many seconds.")
    ] = None,
    interval: Annotated[
        float,
        typer.Option(min=0.1, help="With --watch: seconds between reads without a stream."),
    ] = 1.0,
) -> None:
    """Show one TrainingJob: status, progress, epoch, message."""
    state = _state(ctx)
    try:
        with state.client() as client:
            if watch:
                raise typer.Exit(_wait(state, client, name, interval, wait_timeout))
            _show(state, client.get(name))
    except CliError as error:
        raise _fail(error) from None
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    meter_id: Annotated[str | None, typer.Option(help="Only this meter.")] = None,
    meter_type: Annotated[
        MeterType | None, typer.Option("--type", "-t", help="Only this meter type.")
    ] = None,
    phase: Annotated[Phase | None, typer.Option(help="Only this phase.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 100,
    all_pages: Annotated[bool, typer.Option("--all", help="Follow every page.")] = False,
) -> None:
    """List TrainingJobs (the filters run on the server)."""
    state = _state(ctx)
    items: list[dict[str, Any]] = []
    try:
        with state.client() as client:
            token: str | None = None
            while True:
                page = client.list(
                    meterId=meter_id,
                    meterType=meter_type.value if meter_type else None,
                    phase=phase.value if phase else None,
                    limit=limit,
                    **({"continue": token} if token else {}),
                )
                items.extend(page.get("items") or [])
                token = page.get("continue")
                if not all_pages or not token:
                    break
    except CliError as error:
        raise _fail(error) from None
    if state.output is Output.JSON:
        _print_json({"items": items, "count": len(items), "continue": token})
        return
    if not items:
        stderr.print("no TrainingJobs")
        return
    stdout.print(jobs_table(items))
    if token:
        stderr.print(f"more on the next page: --all (or continue token {token[:16]}...)")


@app.command()
def result(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The TrainingJob.")],
) -> None:
    """Show the outcome: model path, data points, holdout error next to the baselines.

    Exits 1 if the job failed or was cancelled, 5 if it has not finished yet.
    """
    state = _state(ctx)
    try:
        with state.client() as client:
            job = client.get(name)
    except CliError as error:
        raise _fail(error) from None
    code = _finish_code(job)
    if code is ExitCode.NOT_FINISHED:
        stderr.print(
            f"{name} has not finished: {coloured(status_word(job))} at {job.get('progress', 0)}%"
        )
        if state.output is Output.JSON:
            _print_json(job)
        raise typer.Exit(int(code))
    if state.output is Output.JSON:
        _print_json(job)
    else:
        stdout.print(result_view(job))
    raise typer.Exit(int(code))


@app.command()
def forecast(
    ctx: typer.Context,
    meter_id: Annotated[str, typer.Argument(help="The meter.")],
    meter_type: Annotated[
        MeterType, typer.Option("--type", "-t", help="What the meter measures.")
    ] = MeterType.ELECTRICITY,
    origin: Annotated[
        datetime | None,
        typer.Option(help="Forecast from this time (default: the end of the latest data)."),
    ] = None,
    hours: Annotated[
        float | None, typer.Option(min=0.25, max=168, help="Hours ahead (default: the horizon).")
    ] = None,
    output: Annotated[
        Output | None, typer.Option("--output", "-o", help="table for people, json for scripts.")
    ] = None,
) -> None:
    """The meter's forecast from its current model, with a prediction interval."""
    state = _state(ctx)
    if output is not None:
        state.output = output
    params = {
        "origin": _rfc3339(origin, "--origin") if origin is not None else None,
        "hours": hours,
    }
    try:
        with state.client() as client:
            body = client.forecast(meter_type.value, meter_id, **params)
    except CliError as error:
        raise _fail(error) from None
    if state.output is Output.JSON:
        _print_json(body)
    else:
        stdout.print(forecast_table(body))


def _action(ctx: typer.Context, name: str, action: str, done: str) -> None:
    state = _state(ctx)
    try:
        with state.client() as client:
            job = client.act(name, action)
    except CliError as error:
        raise _fail(error) from None
    if state.output is Output.JSON:
        _print_json(job)
    else:
        stdout.print(f"{name} {done} ({coloured(status_word(job))})")


@app.command()
def suspend(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Stop a running job; its record stays and `resume` continues it."""
    _action(ctx, name, "suspend", "suspended")


@app.command()
def resume(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Resume a suspended job (not a cancelled one)."""
    _action(ctx, name, "resume", "resumed")


@app.command()
def cancel(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Cancel a job for good (REVOKED); the record stays until deleted."""
    _action(ctx, name, "cancel", "cancelled")


@app.command()
def delete(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Delete a TrainingJob with its Job and pods (the saved model stays)."""
    state = _state(ctx)
    try:
        with state.client() as client:
            client.delete(name)
    except CliError as error:
        raise _fail(error) from None
    if state.output is Output.JSON:
        _print_json({"name": name, "deleted": True})
    else:
        stdout.print(f"{name} deleted")


if __name__ == "__main__":  # pragma: no cover
    app()
