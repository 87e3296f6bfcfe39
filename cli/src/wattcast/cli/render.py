"""How the CLI shows TrainingJobs on a terminal: rich tables and panels, and the live
progress bar of `train --wait` / `status --watch`.

Everything here reads the API's JSON (TrainingJobPublic, camelCase) as plain dicts: the CLI
depends on the API's wire format only. What to show (the stage, whether a job has finished,
why it failed) is the API's decision (`stage`, `finished`, `failureReason`, `failureMessage`);
this module only lays it out.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

COLOURS = {"SUCCESS": "green", "FAILURE": "red", "REVOKED": "yellow", "SUSPENDED": "yellow"}


def _status(job: dict[str, Any]) -> dict[str, Any]:
    status = job.get("status")
    return status if isinstance(status, dict) else {}


def _spec(job: dict[str, Any]) -> dict[str, Any]:
    spec = job.get("spec")
    return spec if isinstance(spec, dict) else {}


def status_word(job: dict[str, Any]) -> str:
    return str(job.get("taskStatus") or "PENDING")


def coloured(word: str) -> str:
    colour = COLOURS.get(word)
    return f"[{colour}]{word}[/{colour}]" if colour else word


def is_finished(job: dict[str, Any]) -> bool:
    """The API's word: SUCCESS, FAILURE or REVOKED, nothing will change any more."""
    return job.get("finished") is True


def epoch_text(job: dict[str, Any]) -> str:
    training = _status(job).get("training") or {}
    if not training.get("epochs"):
        return ""
    return f"epoch {training.get('epoch', 0)}/{training['epochs']}"


def eta_text(job: dict[str, Any]) -> str:
    training = _status(job).get("training") or {}
    eta = training.get("etaSeconds")
    if eta is None or status_word(job) != "TRAINING":
        return ""
    minutes, seconds = divmod(int(eta), 60)
    return f"ETA {minutes}:{seconds:02d}"


def jobs_table(jobs: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    # The name (often a UUID) folds on a narrow terminal; every other column stays whole.
    table.add_column("NAME", overflow="fold", ratio=1)
    for column in ("METER", "TYPE", "STATUS", "PROGRESS", "CREATED"):
        table.add_column(column, no_wrap=True)
    for job in jobs:
        spec = _spec(job)
        table.add_row(
            str(job.get("name", "")),
            str(spec.get("meterId", "")),
            str(spec.get("meterType", "")),
            coloured(status_word(job)),
            f"{job.get('progress', 0)}%",
            str(job.get("createdAt", "") or "")[:16].replace("T", " "),
        )
    return table


def job_panel(job: dict[str, Any]) -> Panel:
    spec = _spec(job)
    status = _status(job)
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    word = status_word(job)
    rows: list[tuple[str, str]] = [
        ("status", coloured(word)),
        ("stage", str(job.get("stage") or "-")),
        ("progress", f"{job.get('progress', 0)}%  {epoch_text(job)}  {eta_text(job)}".rstrip()),
        ("meter", f"{spec.get('meterId', '')} ({spec.get('meterType', '')})"),
        ("range", f"{spec.get('start', '')} .. {spec.get('end', '')}"),
        ("message", str(job.get("message") or "")),
        ("attempts", str(status.get("attempts") or 0)),
        ("namespace", str(job.get("namespace", ""))),
        ("created", str(job.get("createdAt") or "")),
    ]
    reason = job.get("failureReason")
    if reason:
        rows.insert(2, ("reason", f"[red]{reason}[/red]"))
    result = status.get("result") or {}
    if result.get("modelPath"):
        rows.append(("model", f"models/{result['modelPath']}"))
    if result.get("promotionReason"):
        rows.append(("promotion", str(result["promotionReason"])))
    for key, value in rows:
        table.add_row(key, value)
    return Panel(table, title=f"TrainingJob {job.get('name', '')}", expand=False)


def _metrics_row(name: str, values: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        name,
        f"{float(values.get('mae', 0)):.4g}",
        f"{float(values.get('rmse', 0)):.4g}",
        f"{float(values.get('smape', 0)):.2f}%",
    )


def result_view(job: dict[str, Any]) -> Group:
    """The outcome of a finished job: model, data, and errors next to the baselines."""
    status = _status(job)
    word = status_word(job)
    parts: list[Any] = []
    if word != "SUCCESS":
        reason = job.get("failureReason") or job.get("stage") or ""
        message = job.get("failureMessage") or job.get("message") or ""
        parts.append(
            Panel(
                f"{coloured(word)} [bold]{reason}[/bold]\n{message}",
                title=f"TrainingJob {job.get('name', '')}",
                expand=False,
            )
        )
        return Group(*parts)
    result = status.get("result") or {}
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("status", coloured(word))
    summary.add_row("model", f"models/{result.get('modelPath', '')}")
    summary.add_row("data points", str(result.get("dataPoints", "")))
    summary.add_row("completed", str(result.get("trainingCompleted", "")))
    if result.get("promotionReason"):
        summary.add_row("promotion", str(result["promotionReason"]))
    metrics = result.get("metrics") or {}
    holdout = metrics.get("holdout") or {}
    if holdout:
        summary.add_row(
            "holdout",
            f"{holdout.get('start', '')} .. {holdout.get('end', '')} "
            f"({holdout.get('points', 0)} points)",
        )
    parts.append(Panel(summary, title=f"TrainingJob {job.get('name', '')}", expand=False))
    if metrics.get("model"):
        table = Table(title="holdout error", header_style="bold")
        for column in ("forecast", "MAE", "RMSE", "sMAPE"):
            table.add_column(column, justify="left" if column == "forecast" else "right")
        table.add_row(*_metrics_row("model", metrics["model"]), style="bold")
        for name, values in (metrics.get("baselines") or {}).items():
            table.add_row(*_metrics_row(name, values))
        parts.append(table)
    return Group(*parts)


def progress_bar(console: Console) -> Progress:
    """The live bar: stage, bar, percent, epoch, ETA, elapsed."""
    return live_bar(console, 15, "epoch", "eta")


def live_bar(console: Console, stage_width: int, *fields: str) -> Progress:
    """A live bar: name, stage, bar, percent, the task's `fields`, elapsed."""
    return Progress(
        TextColumn("[bold]{task.fields[name]}[/bold]"),
        TextColumn(f"{{task.fields[stage]:<{stage_width}}}"),
        BarColumn(),
        TaskProgressColumn(),
        *(TextColumn(f"{{task.fields[{field}]}}") for field in fields),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def bar_fields(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "stage": str(job.get("stage") or ""),
        "epoch": epoch_text(job),
        "eta": eta_text(job),
        "completed": int(job.get("progress") or 0),
    }


def forecast_table(body: dict[str, Any]) -> Table:
    """A forecast: one row per point, the model version and why it is current in the title."""
    level = body.get("intervalLevel")
    band = f"{round(level * 100)} % interval" if isinstance(level, int | float) else "interval"
    table = Table(
        title=f"{body.get('meterType', '')}/{body.get('meterId', '')} from {body.get('origin', '')}"
        f" (model {body.get('modelVersion', '')}, {body.get('resolution', '')})",
        caption=str(body.get("promotionReason") or ""),
    )
    table.add_column("time")
    table.add_column("forecast", justify="right")
    table.add_column(f"lower ({band})", justify="right")
    table.add_column("upper", justify="right")
    for point in body.get("points") or []:
        table.add_row(
            str(point.get("time", "")),
            f"{point.get('forecast', 0):.4g}",
            f"{point.get('lower', 0):.4g}",
            f"{point.get('upper', 0):.4g}",
        )
    return table
