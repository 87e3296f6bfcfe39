"""`wattcast`: the command line of the wattcast REST API (typer + rich + httpx).

    wattcast train meter1 --type electricity --start 2023-01-01T00:00:00Z \
        --end 2024-01-01T00:00:00Z --wait
    wattcast list --phase Training
    wattcast status NAME [--watch]
    wattcast result NAME
    wattcast suspend|resume|cancel|delete NAME
    wattcast fleet train --discover --start ... --end ... --wait
    wattcast fleet status|result|cancel NAME; wattcast fleet list

Where the API is and who we are: `--api-url` / `WATTCAST_API_URL` (default
http://127.0.0.1:8000), `--token` / `WATTCAST_API_TOKEN`, `--namespace` /
`WATTCAST_NAMESPACE`. `--output json` prints the API's JSON for scripts; errors go to stderr
and the exit code says what happened (`ExitCode`, docs/cli.md).
"""

from __future__ import annotations

from wattcast.cli import actions, fleet, inspecting, training
from wattcast.cli.app import app

# The commands, in the order `wattcast --help` lists them.
app.command()(training.train)
app.command()(inspecting.status)
app.command("list")(inspecting.list_jobs)
app.command()(inspecting.result)
app.command()(inspecting.forecast)
app.command()(actions.suspend)
app.command()(actions.resume)
app.command()(actions.cancel)
app.command()(actions.delete)
app.add_typer(fleet.app)

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
