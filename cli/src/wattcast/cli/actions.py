"""The commands that change a TrainingJob: `suspend`, `resume`, `cancel` and `delete`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from wattcast.cli.app import Output, fail, print_json, state_of, stdout
from wattcast.cli.client import TRAININGJOBS, CliError
from wattcast.cli.render import coloured, status_word


def act(
    ctx: typer.Context,
    name: str,
    action: str,
    done: str,
    collection: str = TRAININGJOBS,
    word: Callable[[Any], str] = lambda job: coloured(status_word(job)),
) -> None:
    """Suspend, resume or cancel `name` of `collection`, and say how it stands."""
    state = state_of(ctx)
    try:
        with state.client() as client:
            job = client.act(name, action, collection=collection)
    except CliError as error:
        raise fail(error) from None
    if state.output is Output.JSON:
        print_json(job)
    else:
        stdout.print(f"{name} {done} ({word(job)})")


def suspend(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Stop a running job; its record stays and `resume` continues it."""
    act(ctx, name, "suspend", "suspended")


def resume(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Resume a suspended job (not a cancelled one)."""
    act(ctx, name, "resume", "resumed")


def cancel(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Cancel a job for good (REVOKED); the record stays until deleted."""
    act(ctx, name, "cancel", "cancelled")


def delete(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The TrainingJob.")]
) -> None:
    """Delete a TrainingJob with its Job and pods (the saved model stays)."""
    remove(ctx, name)


def remove(ctx: typer.Context, name: str, collection: str = TRAININGJOBS) -> None:
    """Delete `name` of `collection`."""
    state = state_of(ctx)
    try:
        with state.client() as client:
            client.delete(name, collection=collection)
    except CliError as error:
        raise fail(error) from None
    if state.output is Output.JSON:
        print_json({"name": name, "deleted": True})
    else:
        stdout.print(f"{name} deleted")
