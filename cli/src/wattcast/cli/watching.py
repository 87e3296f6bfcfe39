"""Following one TrainingJob until it finishes: the API's event stream, with a live bar.

Used by `wattcast train --wait` and `wattcast status --watch`, and for a FleetTrainingJob by
`wattcast fleet train --wait` and `wattcast fleet status --watch` (another collection, another
bar: the same following). The stream
(GET /v1/trainingjobs/{name}/events) sends the job as it is, then each change a person would
see, and ends once the job finished; the job's `finished` field says when (the API decides,
not the CLI). A stream that breaks or ends early is opened again: every new stream starts
with the job's current state, so no change is lost. While no stream can be had (the API is
down or at its stream limit), the job is read with a plain GET every `interval` seconds
instead; MAX_UNAVAILABLE tries in a row that bring no news at all end the wait. A refusal
(404: deleted meanwhile, 401) ends the wait with that error, as does the stream's DELETED.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import Progress

from wattcast.cli.client import TRAININGJOBS, ApiClient, CliError, ExitCode
from wattcast.cli.render import bar_fields, is_finished, progress_bar, status_word

# Consecutive tries that bring no news at all (no stream, no answer to a GET) before giving up.
MAX_UNAVAILABLE = 10


class _Follower(threading.Thread):
    """Reads the stream (or polls) in the background and hands each TrainingJobPublic, or the
    error that ends the wait, to `updates`; the waiter can so give up at its deadline even
    while the stream is quiet."""

    def __init__(
        self,
        client: ApiClient,
        name: str,
        interval: float,
        sleep: Callable[[float], None],
        collection: str = TRAININGJOBS,
    ) -> None:
        super().__init__(name=f"wattcast-follow-{name}", daemon=True)
        self.client = client
        self.collection = collection
        self.job_name = name
        self.interval = interval
        self.sleep = sleep
        self.updates: queue.Queue[dict[str, Any] | CliError] = queue.Queue()
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            self._follow()
        except CliError as error:
            self.updates.put(error)
        except Exception as error:  # never die silently: the waiter would wait forever
            self.updates.put(
                CliError(f"following {self.job_name} failed: {error}", ExitCode.UNAVAILABLE)
            )

    def _news(self, job: dict[str, Any]) -> bool:
        """Pass `job` on; True once it finished (nothing more to follow)."""
        self.updates.put(job)
        return is_finished(job)

    def _follow(self) -> None:
        misses = 0
        while not self.stopped.is_set():
            error: CliError | None = None
            try:
                for kind, data in self.client.events(self.job_name, collection=self.collection):
                    if self.stopped.is_set():
                        return
                    if kind in ("ADDED", "MODIFIED"):
                        misses = 0
                        if self._news(data):
                            return
                    elif kind == "DELETED":
                        raise CliError(
                            f"{self.job_name} was deleted while waiting for it", ExitCode.REFUSED
                        )
                    # SYNCED needs nothing; after ERROR the API ends the stream.
            except CliError as failed:
                if failed.code is not ExitCode.UNAVAILABLE:
                    raise
                error = failed
            # The stream broke, was refused for now, or ended early: look once, then retry.
            misses += 1
            if misses > MAX_UNAVAILABLE:
                raise error or CliError(
                    f"the event stream of {self.job_name} keeps ending before it finished",
                    ExitCode.UNAVAILABLE,
                )
            try:
                job = self.client.get(self.job_name, collection=self.collection)
            except CliError as failed:
                if failed.code is not ExitCode.UNAVAILABLE:
                    raise
            else:
                misses = 0  # the API answers; only its stream is not to be had
                if self._news(job):
                    return
            self.sleep(self.interval)


def wait_for_job(
    client: ApiClient,
    name: str,
    *,
    interval: float = 1.0,
    timeout: float | None = None,
    console: Console | None = None,
    sleep: Callable[[float], None] = time.sleep,
    collection: str = TRAININGJOBS,
    bar: Callable[[Console], Progress] = progress_bar,
    fields_of: Callable[[dict[str, Any]], dict[str, Any]] = bar_fields,
) -> dict[str, Any]:
    """Follow `name` until it finished; returns its last public view (TrainingJobPublic, or
    FleetTrainingJobPublic for collection "fleettrainingjobs").

    With a console, shows a live bar (`bar`, filled from each view by `fields_of`: stage,
    percent, epoch and ETA of a TrainingJob). Raises CliError with NOT_FINISHED after
    `timeout` seconds, or the error that ended the wait.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    follower = _Follower(client, name, interval, sleep, collection)
    progress = bar(console) if console is not None else None
    task = None
    job: dict[str, Any] = {}
    try:
        if progress is not None:
            progress.start()
        follower.start()
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise CliError(
                    f"{name} has not finished after {timeout:g}s "
                    f"(status {status_word(job) if job else 'unknown'})",
                    ExitCode.NOT_FINISHED,
                    body=job or None,
                )
            try:
                update = follower.updates.get(timeout=remaining)
            except queue.Empty:
                continue
            if isinstance(update, CliError):
                raise update
            job = update
            if progress is not None:
                fields = fields_of(job)
                completed = fields.pop("completed")
                if task is None:
                    task = progress.add_task("", total=100, name=name[:24], **fields)
                progress.update(task, completed=completed, **fields)
            if is_finished(job):
                return job
    finally:
        follower.stopped.set()
        if progress is not None:
            progress.stop()
