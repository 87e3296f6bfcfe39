"""Following one TrainingJob until it finishes: polling the API, with a live progress bar.

Used by `wattcast train --wait`, `wattcast status --watch` and the local demo. A short
outage of the API while waiting is retried (the job keeps running without us); a refusal
(404: deleted meanwhile) ends the wait with that error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from wattcast.cli.client import ApiClient, CliError, ExitCode
from wattcast.cli.render import FINAL_STATUSES, bar_fields, progress_bar, status_word

# Consecutive failed polls tolerated before giving up (each waits one interval).
MAX_UNAVAILABLE_POLLS = 10


def wait_for_job(
    client: ApiClient,
    name: str,
    *,
    interval: float = 1.0,
    timeout: float | None = None,
    console: Console | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll `name` until SUCCESS, FAILURE or REVOKED; returns the last TrainingJobPublic.

    With a console, shows a live bar (stage, percent, epoch, ETA). Raises CliError with
    NOT_FINISHED after `timeout` seconds.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    progress = progress_bar(console) if console is not None else None
    task = None
    misses = 0
    job: dict[str, Any] = {}
    try:
        if progress is not None:
            progress.start()
        while True:
            try:
                job = client.get(name)
                misses = 0
            except CliError as error:
                if error.code is not ExitCode.UNAVAILABLE or misses >= MAX_UNAVAILABLE_POLLS:
                    raise
                misses += 1
            if progress is not None and job:
                fields = bar_fields(job)
                completed = fields.pop("completed")
                if task is None:
                    task = progress.add_task("", total=100, name=name[:24], **fields)
                progress.update(task, completed=completed, **fields)
            if job and status_word(job) in FINAL_STATUSES:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError(
                    f"{name} has not finished after {timeout:g}s "
                    f"(status {status_word(job) if job else 'unknown'})",
                    ExitCode.NOT_FINISHED,
                    body=job or None,
                )
            sleep(interval)
    finally:
        if progress is not None:
            progress.stop()
