"""The operator's memory (`wattcast.operator.state`) only ever makes it newer, never staler: a
status the operator wrote is used until the watch shows it, and dropped as soon as the watch
moves on; a new object of the same name never inherits it."""

from __future__ import annotations

from typing import Any

import pytest

from wattcast.operator.snapshots import Snapshot
from wattcast.operator.state import OperatorState


def body(rv: str, phase: str | None = None, uid: str = "u1", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "tj", "namespace": "ns", "uid": uid, "resourceVersion": rv, **meta},
        "spec": {"suspend": False},
        "status": {"phase": phase} if phase else {},
    }


@pytest.fixture
def state() -> OperatorState:
    return OperatorState()


def test_snapshot_reads_what_the_handlers_need() -> None:
    snap = Snapshot.of(
        {
            "metadata": {
                "name": "tj",
                "namespace": "ns",
                "uid": "u1",
                "resourceVersion": "7",
                "annotations": {"wattcast.dev/cancelled": "true"},
                "deletionTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {"suspend": True, "queueName": "q"},
            "status": {"phase": "Training", "jobName": "tj"},
        }
    )
    assert (snap.suspend, snap.cancelled, snap.deleting, snap.queued) == (True, True, True, True)
    assert (snap.phase, snap.job_name, snap.key) == ("Training", "tj", ("ns", "tj"))
    assert snap.ref["metadata"] == {"name": "tj", "namespace": "ns", "uid": "u1"}


def test_written_status_is_used_only_while_the_watch_lags(state: OperatorState) -> None:
    before = Snapshot.of(body("5"))
    ours = Snapshot.of(body("6", "Pending"))
    state.remember(before, ours)
    # The watch still shows the version our write was based on: ours is newer.
    assert state.current(before) is ours
    # The watch moved on (our write, or anyone's after it): the watch wins, cache dropped.
    later = Snapshot.of(body("9", "Training"))
    assert state.current(later) is later
    assert ("ns", "tj") not in state.written
    assert state.current(before) is before


def test_a_new_object_of_the_same_name_never_sees_the_old_ones_status(
    state: OperatorState,
) -> None:
    state.remember(Snapshot.of(body("5")), Snapshot.of(body("6", "Failed")))
    reborn = Snapshot.of(body("5", uid="u2"))
    assert state.current(reborn) is reborn


def test_an_answer_for_another_object_is_not_remembered(state: OperatorState) -> None:
    # The name was taken by a new object between our read and our write's answer.
    state.remember(Snapshot.of(body("5")), Snapshot.of(body("6", "Pending", uid="u2")))
    assert state.written == {}


def test_forget_drops_everything_kept_for_the_trainingjob(state: OperatorState) -> None:
    key = ("ns", "tj")
    state.remember(Snapshot.of(body("1")), Snapshot.of(body("2")))
    state.lock(key)
    state.forget(key)
    assert key not in state.written
    assert key not in state.locks


def test_a_fresh_state_trusts_the_watch(state: OperatorState) -> None:
    # What a restart starts with: nothing kept, the watch's version is the one used.
    observed = Snapshot.of(body("3", "Training"))
    assert state.current(observed) is observed
