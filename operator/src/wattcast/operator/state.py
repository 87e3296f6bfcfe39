"""All the operator keeps in memory between events, and why it may be lost at any moment.

The API server is the operator's only source of truth: every decision is made from the
TrainingJob and the Job as the watch (Kopf's indexes) or a direct read shows them, and every
status write carries the resourceVersion it was computed from, so a write based on stale
knowledge is refused with 409 and recomputed. What is kept here only saves work:

- `locks`: one asyncio.Lock per TrainingJob. Kopf handles a TrainingJob's events and its Job's
  events in two workers; the lock keeps them from reconciling the same TrainingJob at the same
  moment, which would only cost a 409 and a retry.
- `written`: the status this process wrote last, per TrainingJob, until the watch shows it.
  Without it, an event that arrives before the watch has caught up with our own write would
  compute the same change again and send it a second time (a wasted request, refused by the
  resourceVersion precondition anyway). It is used only while the watch still shows the exact
  resourceVersion the write was based on, and only for the same uid, so it is never older than
  the watch and never belongs to an earlier object of the same name.

A restart starts with both empty: the first event of each TrainingJob then simply reads the
watch's version, which is what a fresh process must do anyway. Handler progress (retries) and
the spec's diff-base are Kopf's, kept in annotations on the TrainingJob; the retention timers
are Kopf's too, spawned again from the listed objects after a restart. The one other
in-memory table, the metrics' phase tally (`metrics.PhaseTally`), is a gauge refilled by the
same listing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from wattcast.operator.snapshots import Key, Snapshot


@dataclass(frozen=True)
class Written:
    """A status this operator wrote, until the watch shows it (avoids writing it twice)."""

    based_on: str  # the resourceVersion the write was computed from
    snapshot: Snapshot  # the object as the API server returned it after the write


@dataclass
class OperatorState:
    """The operator's memory between events (see the module's docstring: never the truth)."""

    locks: dict[Key, asyncio.Lock] = field(default_factory=dict)
    written: dict[Key, Written] = field(default_factory=dict)

    def lock(self, key: Key) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())

    def current(self, observed: Snapshot) -> Snapshot:
        """The newest status known: the watch's, or ours if the watch has not caught up."""
        written = self.written.get(observed.key)
        if written is None:
            return observed
        if written.snapshot.uid == observed.uid and observed.resource_version == written.based_on:
            return written.snapshot
        del self.written[observed.key]
        return observed

    def remember(self, based_on: Snapshot, result: Snapshot) -> None:
        """Keep `result`, the answer to a write computed from `based_on`, until the watch has it."""
        if result.uid == based_on.uid:
            self.written[based_on.key] = Written(
                based_on=based_on.resource_version, snapshot=result
            )

    def forget(self, key: Key) -> None:
        """The TrainingJob is gone: drop all that was kept for it."""
        self.locks.pop(key, None)
        self.written.pop(key, None)
