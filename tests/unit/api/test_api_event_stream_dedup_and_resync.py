"""An event stream sends only visible changes, and after a watch expired (410) it brings the
client up to date from a fresh list: changed jobs as MODIFIED, vanished ones as DELETED."""

from __future__ import annotations

from typing import Any, cast

from wattcast.api.kube import KubeClient
from wattcast.api.routes.events import _Stream


def _job(name: str, phase: str | None = None, progress: int = 0, rv: str = "1") -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv},
        "spec": {
            "meterId": "meter1",
            "meterType": "water",
            "start": "2023-01-01T00:00:00Z",
            "end": "2023-02-01T00:00:00Z",
        },
    }
    if phase:
        obj["status"] = {"phase": phase, "progress": progress}
    return obj


def _stream(name: str | None = None) -> _Stream:
    return _Stream(cast(KubeClient, None), "ns", name, retry_after=5)


def test_only_visible_changes_are_events() -> None:
    stream = _stream()
    first = stream.changed("ADDED", _job("a"))
    assert first is not None and first.event == "ADDED" and first.id == "1"
    # A new resourceVersion alone (say, a label or live figures changed) is not an event.
    assert stream.changed("MODIFIED", _job("a", rv="2")) is None
    moved = stream.changed("MODIFIED", _job("a", "Training", 10, rv="3"))
    assert moved is not None and moved.event == "MODIFIED"
    assert '"progress":10' in str(moved.data)


def test_resync_reports_changes_and_deletions_since_the_last_event() -> None:
    stream = _stream()
    for name in ("a", "b", "c"):
        stream.changed("ADDED", _job(name))
    events = stream.resync([_job("a"), _job("c", "Saving", 95, rv="9"), _job("d", rv="10")])
    kinds = [(e.event, e.id) for e in events]
    assert ("DELETED", None) in kinds  # b went while the watch was down
    assert ("MODIFIED", "9") in kinds  # c changed
    assert ("ADDED", "10") in kinds  # d is new
    assert len(events) == 3
    assert not stream.finished


def test_the_one_job_stream_finishes_on_a_final_status_or_deletion() -> None:
    stream = _stream("a")
    stream.changed("ADDED", _job("a", "Training", 50))
    assert not stream.finished
    stream.changed("MODIFIED", _job("a", "Failed", 50))
    assert stream.finished

    gone = _stream("a")
    gone.changed("ADDED", _job("a"))
    gone.resync([])
    assert gone.finished
