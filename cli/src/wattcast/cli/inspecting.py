"""The commands that read: `status`, `list`, `result` and `forecast`; `show_status`,
`show_pages` and `show_outcome` serve `wattcast fleet status|list|result` too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from wattcast.cli.app import (
    TRAININGJOB_SHOWN,
    Output,
    Shown,
    State,
    fail,
    print_json,
    rfc3339_option,
    state_of,
    stderr,
    stdout,
    wait_and_show,
)
from wattcast.cli.client import TRAININGJOBS, CliError, ExitCode
from wattcast.cli.render import coloured, forecast_table, job_panel, jobs_table, status_word

# The contract's enums: the CLI offers exactly the values the TrainingJob schema accepts.
from wattcast.crd import MeterType, Phase


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
    show_status(state_of(ctx), name, watch, wait_timeout, interval, TRAININGJOB_SHOWN, job_panel)


def show_status(
    state: State,
    name: str,
    watch: bool,
    wait_timeout: float | None,
    interval: float,
    shown: Shown,
    panel: Callable[[Any], Any],
) -> None:
    """`status`: one object's panel, or (--watch) its live bar until it finished."""
    try:
        with state.client() as client:
            if watch:
                code = wait_and_show(state, client, name, interval, wait_timeout, shown)
                raise typer.Exit(code)
            job = client.get(name, collection=shown.collection)
            if state.output is Output.JSON:
                print_json(job)
            else:
                stdout.print(panel(job))
    except CliError as error:
        raise fail(error) from None
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


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
    filters = {
        "meterId": meter_id,
        "meterType": meter_type.value if meter_type else None,
        "phase": phase.value if phase else None,
    }
    show_pages(state_of(ctx), TRAININGJOBS, filters, limit, all_pages, jobs_table, "TrainingJobs")


def show_pages(
    state: State,
    collection: str,
    filters: dict[str, Any],
    limit: int,
    all_pages: bool,
    table: Callable[[list[dict[str, Any]]], Table],
    noun: str,
) -> None:
    """List `collection` (one page, or every page with `all_pages`) and show it."""
    items: list[dict[str, Any]] = []
    try:
        with state.client() as client:
            token: str | None = None
            while True:
                page = client.list(
                    collection=collection,
                    **filters,
                    limit=limit,
                    **({"continue": token} if token else {}),
                )
                items.extend(page.get("items") or [])
                token = page.get("continue")
                if not all_pages or not token:
                    break
    except CliError as error:
        raise fail(error) from None
    if state.output is Output.JSON:
        print_json({"items": items, "count": len(items), "continue": token})
        return
    if not items:
        stderr.print(f"no {noun}")
        return
    stdout.print(table(items))
    if token:
        stderr.print(f"more on the next page: --all (or continue token {token[:16]}...)")


def result(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The TrainingJob.")],
) -> None:
    """Show the outcome: model path, data points, holdout error next to the baselines.

    Exits 1 if the job failed or was cancelled, 5 if it has not finished yet.
    """
    show_outcome(state_of(ctx), name, TRAININGJOB_SHOWN, lambda job: coloured(status_word(job)))


def show_outcome(state: State, name: str, shown: Shown, word: Callable[[Any], str]) -> None:
    """`result`: the outcome of a finished object, or how far it is (exit 5)."""
    try:
        with state.client() as client:
            job = client.get(name, collection=shown.collection)
    except CliError as error:
        raise fail(error) from None
    code = shown.code_of(job)
    if code is ExitCode.NOT_FINISHED:
        stderr.print(f"{name} has not finished: {word(job)} at {job.get('progress', 0)}%")
        if state.output is Output.JSON:
            print_json(job)
        raise typer.Exit(int(code))
    if state.output is Output.JSON:
        print_json(job)
    else:
        stdout.print(shown.outcome(job))
    raise typer.Exit(int(code))


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
    state = state_of(ctx)
    if output is not None:
        state.output = output
    params = {
        "origin": rfc3339_option(origin, "--origin") if origin is not None else None,
        "hours": hours,
    }
    try:
        with state.client() as client:
            body = client.forecast(meter_type.value, meter_id, **params)
    except CliError as error:
        raise fail(error) from None
    if state.output is Output.JSON:
        print_json(body)
    else:
        stdout.print(forecast_table(body))
