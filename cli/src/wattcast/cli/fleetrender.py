"""How the CLI shows FleetTrainingJobs: the list, one fleet's panel, its outcome (counts,
MAE / baseline aggregates and histogram, the failure table) and the live bar of
`fleet train --wait` / `fleet status --watch`.

It reads the API's FleetTrainingJobPublic (camelCase) as plain dicts, like render.py; the API
decides the stage, whether the fleet finished and why it failed.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import Progress
from rich.table import Table

from wattcast.cli.client import ExitCode
from wattcast.cli.render import is_finished, live_bar

STAGE_COLOURS = {
    "Succeeded": "green",
    "Failed": "red",
    "Cancelled": "yellow",
    "Suspended": "yellow",
}
HISTOGRAM_WIDTH = 40


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _status(fleet: dict[str, Any]) -> dict[str, Any]:
    return _dict(fleet.get("status"))


def stage_of(fleet: dict[str, Any]) -> str:
    return str(fleet.get("stage") or "Pending")


def coloured_stage(fleet: dict[str, Any]) -> str:
    stage = stage_of(fleet)
    colour = STAGE_COLOURS.get(stage)
    return f"[{colour}]{stage}[/{colour}]" if colour else stage


def fleet_code(fleet: dict[str, Any]) -> ExitCode:
    """0 once it succeeded (every shard ran; failed meters are counted in the result), 1 when
    it failed or was cancelled, 5 while it runs."""
    if not is_finished(fleet):
        return ExitCode.NOT_FINISHED
    return ExitCode.OK if stage_of(fleet) == "Succeeded" else ExitCode.JOB_FAILED


def meters_text(fleet: dict[str, Any]) -> str:
    total = fleet.get("metersTotal")
    done = fleet.get("metersFinished") or 0
    return f"{done}/{total} meters" if total is not None else f"{done} meters"


def failed_text(fleet: dict[str, Any]) -> str:
    failed = _dict(_status(fleet).get("counts")).get("failed") or 0
    return f"[red]{failed} failed[/red]" if failed else ""


def fleets_table(fleets: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    table.add_column("NAME", overflow="fold", ratio=1)
    for column in ("TYPE", "STAGE", "METERS", "DONE", "FAILED", "PROGRESS", "CREATED"):
        table.add_column(column, no_wrap=True)
    for fleet in fleets:
        counts = _dict(_status(fleet).get("counts"))
        total = fleet.get("metersTotal")
        table.add_row(
            str(fleet.get("name", "")),
            str(_dict(fleet.get("spec")).get("meterType", "")),
            coloured_stage(fleet),
            "-" if total is None else str(total),
            str(fleet.get("metersFinished") or 0),
            str(counts.get("failed") or 0),
            f"{fleet.get('progress', 0)}%",
            str(fleet.get("createdAt", "") or "")[:16].replace("T", " "),
        )
    return table


def _meters_spec(spec: dict[str, Any]) -> str:
    meters = _dict(spec.get("meters"))
    if isinstance(meters.get("ids"), list):
        return f"{len(meters['ids'])} listed"
    discover = _dict(meters.get("discover"))
    pattern = discover.get("pattern")
    return f"discovered, matching {pattern}" if pattern else "discovered (every meter)"


def fleet_panel(fleet: dict[str, Any]) -> Panel:
    spec = _dict(fleet.get("spec"))
    status = _status(fleet)
    shards = _dict(status.get("shards"))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, str]] = [
        ("stage", coloured_stage(fleet)),
        ("progress", f"{fleet.get('progress', 0)}%  {meters_text(fleet)}  {failed_text(fleet)}"),
        ("meters", f"{_meters_spec(spec)} ({spec.get('meterType', '')})"),
        ("range", f"{spec.get('start', '')} .. {spec.get('end', '')}"),
        ("message", str(fleet.get("message") or "")),
    ]
    if fleet.get("failureReason"):
        rows.insert(1, ("reason", f"[red]{fleet['failureReason']}[/red]"))
    if shards:
        rows.append(
            (
                "shards",
                f"{shards.get('total', 0)} total, {shards.get('succeeded', 0)} done, "
                f"{shards.get('failed', 0)} failed, {shards.get('active', 0)} running",
            )
        )
    if status.get("jobName"):
        rows.append(("job", str(status["jobName"])))
    rows += [
        ("namespace", str(fleet.get("namespace", ""))),
        ("created", str(fleet.get("createdAt") or "")),
    ]
    for key, value in rows:
        table.add_row(key, value.rstrip())
    return Panel(table, title=f"FleetTrainingJob {fleet.get('name', '')}", expand=False)


def _ratio(value: Any) -> str:
    return f"{float(value):.3f}" if isinstance(value, int | float) else "-"


def histogram_table(buckets: list[dict[str, Any]]) -> Table | None:
    """MAE / best baseline across meters: one row per non-empty bucket, a bar of #."""
    rows = [b for b in buckets if isinstance(b, dict) and b.get("count")]
    if not rows:
        return None
    most = max(int(b["count"]) for b in rows)
    table = Table(title="MAE / best baseline across meters", header_style="bold", box=None)
    table.add_column("ratio", justify="right")
    table.add_column("meters", justify="right")
    table.add_column("")
    previous = 0.0
    for bucket in buckets:
        le = bucket.get("le") if isinstance(bucket, dict) else None
        label = f"{previous:.2f}-{le:.2f}" if isinstance(le, int | float) else f"> {previous:.2f}"
        if isinstance(le, int | float):
            previous = float(le)
        count = int(bucket.get("count") or 0) if isinstance(bucket, dict) else 0
        if not count:
            continue
        bar = "#" * max(1, round(HISTOGRAM_WIDTH * count / most))
        colour = "green" if isinstance(le, int | float) and le <= 1.0 else "yellow"
        table.add_row(label, str(count), f"[{colour}]{bar}[/{colour}]")
    return table


def failures_table(fleet: dict[str, Any]) -> Table | None:
    status = _status(fleet)
    failures = [f for f in status.get("failures") or [] if isinstance(f, dict)]
    if not failures:
        return None
    failed = _dict(status.get("counts")).get("failed") or len(failures)
    caption = (
        f"the first {len(failures)} of {failed} failed meters (the status keeps a bounded list)"
        if failed > len(failures)
        else None
    )
    table = Table(title="failed meters", header_style="bold", caption=caption)
    table.add_column("meter", overflow="fold")
    table.add_column("reason", style="red", no_wrap=True)
    table.add_column("message", overflow="fold", ratio=1)
    for failure in failures:
        table.add_row(
            str(failure.get("meter", "")),
            str(failure.get("reason", "")),
            str(failure.get("message", "")),
        )
    return table


def fleet_result(fleet: dict[str, Any]) -> Group:
    """The outcome: counts, MAE / baseline median and p90, the histogram, the failures."""
    status = _status(fleet)
    counts = _dict(status.get("counts"))
    metrics = _dict(status.get("metrics"))
    ratio = _dict(metrics.get("maeOverBestBaseline"))
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("stage", coloured_stage(fleet))
    if fleet.get("failureReason"):
        summary.add_row("reason", f"[red]{fleet['failureReason']}[/red]")
        summary.add_row("why", str(fleet.get("failureMessage") or ""))
    summary.add_row("meters", str(counts.get("total", fleet.get("metersTotal") or 0)))
    summary.add_row("succeeded", str(counts.get("succeeded", 0)))
    summary.add_row("failed", str(counts.get("failed", 0)))
    summary.add_row("promoted", str(counts.get("promoted", 0)))
    summary.add_row("beat baseline", str(counts.get("beatBaseline", 0)))
    if ratio:
        summary.add_row(
            "MAE / baseline",
            f"median {_ratio(ratio.get('median'))}, p90 {_ratio(ratio.get('p90'))} "
            f"over {ratio.get('meters', 0)} meters (below 1: the model beats the baseline)",
        )
    parts: list[Any] = [
        Panel(summary, title=f"FleetTrainingJob {fleet.get('name', '')}", expand=False)
    ]
    histogram = histogram_table(metrics.get("histogram") or [])
    if histogram is not None:
        parts.append(histogram)
    failures = failures_table(fleet)
    if failures is not None:
        parts.append(failures)
    return Group(*parts)


def fleet_bar(console: Console) -> Progress:
    """The live bar: stage, bar, percent, meters done / total, failed, elapsed."""
    return live_bar(console, 18, "meters", "failed")


def fleet_bar_fields(fleet: dict[str, Any]) -> dict[str, Any]:
    return {
        "stage": stage_of(fleet),
        "meters": meters_text(fleet),
        "failed": failed_text(fleet),
        "completed": int(fleet.get("progress") or 0),
    }
