"""`wattcast train`: submit a TrainingJob for one meter and range, and follow it with --wait."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer

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
from wattcast.cli.client import CliError, ExitCode
from wattcast.cli.render import coloured, status_word

# The contract's enums: the CLI offers exactly the values the TrainingJob schema accepts.
from wattcast.crd import MeterType, ModelType

# Options `wattcast train` and `wattcast fleet train` share (the same spec fields).
StartOption = Annotated[
    datetime,
    typer.Option(help="Start of the data range (inclusive), e.g. 2023-01-01T00:00:00Z."),
]
EndOption = Annotated[datetime, typer.Option(help="End of the data range (exclusive).")]
MeterTypeOption = Annotated[
    MeterType, typer.Option("--type", "-t", help="What the meter measures.")
]
SourceOption = Annotated[
    str | None, typer.Option(help="A configured InfluxDB source (default: the default one).")
]
ModelTypeOption = Annotated[ModelType | None, typer.Option(help="Model to fit.")]
EpochsOption = Annotated[int | None, typer.Option(min=1, max=500, help="Training epochs.")]
LookbackOption = Annotated[
    int | None, typer.Option(min=24, max=2016, help="History the model sees, in hours.")
]
HorizonOption = Annotated[
    int | None, typer.Option(min=1, max=168, help="How far ahead it forecasts, in hours.")
]
HoldoutOption = Annotated[
    int | None, typer.Option(min=1, max=90, help="Days kept out of training to score it.")
]
DeadlineOption = Annotated[
    int | None, typer.Option(min=1, help="Seconds the whole run may take (retries too).")
]
IdempotencyOption = Annotated[
    str | None, typer.Option(help="Repeat a submission safely: same key, same object.")
]
WaitTimeoutOption = Annotated[
    float | None, typer.Option(min=1, help="With --wait: give up after this many seconds.")
]
IntervalOption = Annotated[
    float,
    typer.Option(min=0.1, help="With --wait: seconds between reads without a stream."),
]


def spec_body(
    *,
    meter_type: MeterType,
    start: datetime,
    end: datetime,
    name: str | None,
    source: str | None,
    model_type: ModelType | None,
    model_fields: dict[str, int | None],
    deadline: int | None,
) -> dict[str, Any]:
    """The spec fields both kinds share, as the API's JSON (unset options left out)."""
    body: dict[str, Any] = {
        "meterType": meter_type.value,
        "start": rfc3339_option(start, "--start"),
        "end": rfc3339_option(end, "--end"),
    }
    if name:
        body["name"] = name
    if source:
        body["source"] = {"name": source}
    model: dict[str, Any] = {k: v for k, v in model_fields.items() if v is not None}
    if model_type is not None:
        model = {"type": model_type.value, **model}
    if model:
        body["model"] = model
    if deadline is not None:
        body["activeDeadlineSeconds"] = deadline
    return body


def train(
    ctx: typer.Context,
    meter_id: Annotated[str, typer.Argument(help="Meter id (the InfluxDB tag meter_id).")],
    start: StartOption,
    end: EndOption,
    meter_type: MeterTypeOption = MeterType.ELECTRICITY,
    name: Annotated[
        str | None, typer.Option(help="Name of the TrainingJob (default: the API picks a UUID).")
    ] = None,
    source: SourceOption = None,
    model_type: ModelTypeOption = None,
    epochs: EpochsOption = None,
    lookback_hours: LookbackOption = None,
    horizon_hours: HorizonOption = None,
    holdout_days: HoldoutOption = None,
    backoff_limit: Annotated[
        int | None, typer.Option(min=0, max=20, help="Retries of a failed trainer pod.")
    ] = None,
    deadline: DeadlineOption = None,
    idempotency_key: IdempotencyOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Follow the job to its end with a progress bar.")
    ] = False,
    wait_timeout: WaitTimeoutOption = None,
    interval: IntervalOption = 1.0,
) -> None:
    """Submit a training job for one meter and range; --wait follows it to the end."""
    state = state_of(ctx)
    body: dict[str, Any] = {
        "meterId": meter_id,
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
            deadline=None,
        ),
    }
    if backoff_limit is not None:
        body["backoffLimit"] = backoff_limit
    if deadline is not None:
        body["activeDeadlineSeconds"] = deadline
    submit_and_follow(
        state,
        body,
        idempotency_key=idempotency_key,
        follow=(interval, wait_timeout) if wait else None,
        word=lambda job: coloured(status_word(job)),
        watch_command="wattcast status",
    )


def submit_and_follow(
    state: State,
    body: dict[str, Any],
    *,
    idempotency_key: str | None,
    follow: tuple[float, float | None] | None,
    word: Callable[[dict[str, Any]], str],
    watch_command: str,
    shown: Shown = TRAININGJOB_SHOWN,
) -> None:
    """Create the object; say so (or print its JSON), or with `follow` ((interval, timeout))
    follow it to its end and exit with its code."""
    try:
        with state.client() as client:
            job = client.create(body, idempotency_key=idempotency_key, collection=shown.collection)
            if follow is None:
                if state.output is Output.JSON:
                    print_json(job)
                else:
                    stdout.print(
                        f"submitted [bold]{job['name']}[/bold] ({word(job)}); "
                        f"follow it with: {watch_command} {job['name']} --watch"
                    )
                return
            if state.output is Output.TABLE:
                stderr.print(f"submitted [bold]{job['name']}[/bold]")
            code = wait_and_show(state, client, str(job["name"]), *follow, shown)
    except CliError as error:
        raise fail(error) from None
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    raise typer.Exit(code)
