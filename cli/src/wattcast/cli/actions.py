"""The commands that change a TrainingJob: `suspend`, `resume`, `cancel` and `delete`."""

from __future__ import annotations

from typing import Annotated

import typer

from wattcast.cli.app import Output, fail, print_json, state_of, stdout
from wattcast.cli.client import CliError
from wattcast.cli.render import coloured, status_word


def _action(ctx: typer.Context, name: str, action: str, done: str) -> None:
    state = state_of(ctx)
    try:
        with state.client() as client:
            job = client.act(name, action)
    except CliError as error:
        raise fail(error) from None
    if state.output is Output.JSON:
        print_json(job)
    else:
        stdout.print(f"{name} {done} ({coloured(status_word(job))})")


def suspend(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Stop a running job; its record stays and `resume` continues it."""
    _action(ctx, name, "suspend", "suspended")


def resume(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Resume a suspended job (not a cancelled one)."""
    _action(ctx, name, "resume", "resumed")


def cancel(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Cancel a job for good (REVOKED); the record stays until deleted."""
    _action(ctx, name, "cancel", "cancelled")


def delete(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Delete a TrainingJob with its Job and pods (the saved model stays)."""
    state = state_of(ctx)
    try:
        with state.client() as client:
            client.delete(name)
    except CliError as error:
        raise fail(error) from None
    if state.output is Output.JSON:
        print_json({"name": name, "deleted": True})
    else:
        stdout.print(f"{name} deleted")
