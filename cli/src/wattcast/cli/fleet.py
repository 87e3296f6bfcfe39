"""`wattcast fleet train|status|list|result|cancel` (and suspend, resume, delete): the
FleetTrainingJob commands, on the same client, following, exit codes and JSON output as the
TrainingJob commands (docs/cli.md).

    wattcast fleet train --type electricity --start 2024-01-01T00:00:00Z \
        --end 2024-03-01T00:00:00Z --discover --pattern '^site-' --wait
    wattcast fleet train --meters meter1,meter2 --meters-file more.txt ...
    wattcast fleet result NAME
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wattcast.cli import actions
from wattcast.cli.app import (
    Shown,
    fail,
    state_of,
)
from wattcast.cli.client import FLEETTRAININGJOBS, CliError, ExitCode
from wattcast.cli.fleetrender import (
    coloured_stage,
    fleet_bar,
    fleet_bar_fields,
    fleet_code,
    fleet_panel,
    fleet_result,
    fleets_table,
)
from wattcast.cli.inspecting import show_outcome, show_pages, show_status
from wattcast.cli.training import (
    DeadlineOption,
    EndOption,
    EpochsOption,
    HoldoutOption,
    HorizonOption,
    IdempotencyOption,
    IntervalOption,
    LookbackOption,
    MeterTypeOption,
    ModelTypeOption,
    SourceOption,
    StartOption,
    WaitTimeoutOption,
    spec_body,
    submit_and_follow,
)
from wattcast.crd import MeterType
from wattcast.crd.fleettrainingjob import FleetPhase

app = typer.Typer(
    name="fleet",
    help="Train the models of many meters as one FleetTrainingJob (one Indexed Job).",
    no_args_is_help=True,
)

SHOWN = Shown(
    collection=FLEETTRAININGJOBS,
    bar=fleet_bar,
    fields_of=fleet_bar_fields,
    outcome=fleet_result,
    code_of=fleet_code,
)
NameArgument = Annotated[str, typer.Argument(help="The FleetTrainingJob.")]


def meter_ids(meters: list[str], meters_file: Path | None) -> list[str]:
    """--meters (comma-separated, repeatable) and --meters-file (one id a line, # comments)."""
    ids = [m.strip() for value in meters for m in value.split(",") if m.strip()]
    if meters_file is not None:
        try:
            text = meters_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise fail(CliError(f"cannot read --meters-file: {error}", ExitCode.USAGE)) from None
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                ids.append(line)
    return ids


@app.command()
def train(
    ctx: typer.Context,
    start: StartOption,
    end: EndOption,
    meter_type: MeterTypeOption = MeterType.ELECTRICITY,
    meters: Annotated[
        list[str] | None,
        typer.Option(help="Meter ids, comma-separated (repeatable): meters.ids."),
    ] = None,
    meters_file: Annotated[
        Path | None, typer.Option(help="A file of meter ids, one a line: meters.ids.")
    ] = None,
    discover: Annotated[
        bool, typer.Option(help="Train every meter of the measurement: meters.discover.")
    ] = False,
    pattern: Annotated[
        str | None,
        typer.Option(help="With --discover: only meter ids this regular expression matches."),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Name of the fleet (default: the API picks a UUID).")
    ] = None,
    source: SourceOption = None,
    parallelism: Annotated[int | None, typer.Option(min=1, help="Shard pods at once.")] = None,
    meters_per_pod: Annotated[
        int | None, typer.Option(min=1, help="Meters one shard pod trains.")
    ] = None,
    backoff_limit_per_index: Annotated[
        int | None, typer.Option(min=0, max=20, help="Retries of a failed shard pod.")
    ] = None,
    model_type: ModelTypeOption = None,
    epochs: EpochsOption = None,
    lookback_hours: LookbackOption = None,
    horizon_hours: HorizonOption = None,
    holdout_days: HoldoutOption = None,
    deadline: DeadlineOption = None,
    idempotency_key: IdempotencyOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Follow the fleet to its end with a progress bar.")
    ] = False,
    wait_timeout: WaitTimeoutOption = None,
    interval: IntervalOption = 1.0,
) -> None:
    """Submit one FleetTrainingJob for listed or discovered meters; --wait follows it."""
    state = state_of(ctx)
    ids = meter_ids(meters or [], meters_file)
    if not ids and not discover:
        raise fail(
            CliError(
                "name the meters: --meters, --meters-file, or --discover [--pattern RE]",
                ExitCode.USAGE,
            )
        )
    if pattern is not None and not discover:
        raise fail(CliError("--pattern goes with --discover", ExitCode.USAGE))
    selection: dict[str, Any] = {}
    # Both given: sent as asked, so the API's 422 says what the schema allows.
    if ids:
        selection["ids"] = ids
    if discover:
        selection["discover"] = {"pattern": pattern} if pattern is not None else {}
    body: dict[str, Any] = {
        "meters": selection,
        **spec_body(
            meter_type=meter_type,
            start=start,
            end=end,
            name=name,
            source=source,
            model_type=model_type,
            model_fields={
                "epochs": epochs,
                "lookbackHours": lookback_hours,
                "horizonHours": horizon_hours,
                "holdoutDays": holdout_days,
            },
            deadline=deadline,
        ),
    }
    for key, value in (
        ("parallelism", parallelism),
        ("metersPerPod", meters_per_pod),
        ("backoffLimitPerIndex", backoff_limit_per_index),
    ):
        if value is not None:
            body[key] = value
    submit_and_follow(
        state,
        body,
        idempotency_key=idempotency_key,
        follow=(interval, wait_timeout) if wait else None,
        word=coloured_stage,
        watch_command="wattcast fleet status",
        shown=SHOWN,
    )


@app.command()
def status(
    ctx: typer.Context,
    name: NameArgument,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Follow it to the end with a progress bar.")
    ] = False,
    wait_timeout: WaitTimeoutOption = None,
    interval: IntervalOption = 1.0,
) -> None:
    """Show one fleet: stage, meters done / total, failures so far, shards."""
    show_status(state_of(ctx), name, watch, wait_timeout, interval, SHOWN, fleet_panel)


@app.command("list")
def list_fleets(
    ctx: typer.Context,
    meter_type: Annotated[
        MeterType | None, typer.Option("--type", "-t", help="Only this meter type.")
    ] = None,
    phase: Annotated[FleetPhase | None, typer.Option(help="Only this phase.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 100,
    all_pages: Annotated[bool, typer.Option("--all", help="Follow every page.")] = False,
) -> None:
    """List FleetTrainingJobs (the filters run on the server)."""
    filters = {
        "meterType": meter_type.value if meter_type else None,
        "phase": phase.value if phase else None,
    }
    show_pages(state_of(ctx), FLEETTRAININGJOBS, filters, limit, all_pages, fleets_table, "fleets")


@app.command()
def result(ctx: typer.Context, name: NameArgument) -> None:
    """Counts, MAE / baseline median and p90 with their histogram, and the failed meters.

    Exits 0 once it succeeded (failed meters are listed, not fatal), 1 if the fleet failed or
    was cancelled, 5 if it has not finished yet.
    """
    show_outcome(state_of(ctx), name, SHOWN, coloured_stage)


@app.command()
def cancel(ctx: typer.Context, name: NameArgument) -> None:
    """Cancel a fleet for good; models already saved stay, the record stays until deleted."""
    actions.act(ctx, name, "cancel", "cancelled", FLEETTRAININGJOBS, coloured_stage)


@app.command()
def suspend(ctx: typer.Context, name: NameArgument) -> None:
    """Stop a running fleet; `resume` continues with the meters left."""
    actions.act(ctx, name, "suspend", "suspended", FLEETTRAININGJOBS, coloured_stage)


@app.command()
def resume(ctx: typer.Context, name: NameArgument) -> None:
    """Resume a suspended fleet (not a cancelled one)."""
    actions.act(ctx, name, "resume", "resumed", FLEETTRAININGJOBS, coloured_stage)


@app.command()
def delete(ctx: typer.Context, name: NameArgument) -> None:
    """Delete a fleet with its Job and pods (the saved models stay)."""
    actions.remove(ctx, name, FLEETTRAININGJOBS)
