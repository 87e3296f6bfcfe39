"""The handlers' small caches only ever make the operator newer, never staler: a status the
operator wrote is used until the watch shows it, and dropped as soon as the watch moves on."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from wattcast.operator.handlers import Runtime, Snapshot, Written
from wattcast.operator.kubeclient import KubeClient
from wattcast.operator.settings import OperatorSettings


def body(rv: str, phase: str | None = None, uid: str = "u1", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "tj", "namespace": "ns", "uid": uid, "resourceVersion": rv, **meta},
        "spec": {"suspend": False},
        "status": {"phase": phase} if phase else {},
    }


@pytest.fixture
def rt() -> Runtime:
    return Runtime(settings=OperatorSettings(), sources={}, kube=KubeClient(client.ApiClient()))


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
            "status": {"phase": "Training"},
        }
    )
    assert (snap.suspend, snap.cancelled, snap.deleting, snap.queued) == (True, True, True, True)
    assert snap.phase == "Training"
    assert snap.ref["metadata"] == {"name": "tj", "namespace": "ns", "uid": "u1"}


def test_written_status_is_used_only_while_the_watch_lags(rt: Runtime) -> None:

    before = Snapshot.of(body("5"))
    ours = Snapshot.of(body("6", "Pending"))
    rt.written[("ns", "tj")] = Written(based_on="5", snapshot=ours)
    # The watch still shows the version our write was based on: ours is newer.
    assert rt.current(before) is ours
    # The watch moved on (our write, or anyone's after it): the watch wins, cache dropped.
    later = Snapshot.of(body("9", "Training"))
    assert rt.current(later) is later
    assert ("ns", "tj") not in rt.written
    assert rt.current(before) is before


def test_a_new_object_of_the_same_name_never_sees_the_old_ones_status(rt: Runtime) -> None:

    rt.written[("ns", "tj")] = Written(based_on="5", snapshot=Snapshot.of(body("6", "Failed")))
    reborn = Snapshot.of(body("5", uid="u2"))
    assert rt.current(reborn) is reborn


def test_forget_drops_every_cache(rt: Runtime) -> None:

    key = ("ns", "tj")
    rt.written[key] = Written(based_on="1", snapshot=Snapshot.of(body("2")))
    rt.first_seen[key] = 1.0
    rt.awaiting_job[key] = 1.0
    rt.lock(key)
    rt.forget(key)
    assert key not in rt.written
    assert key not in rt.first_seen
    assert key not in rt.awaiting_job
    assert key not in rt.locks
