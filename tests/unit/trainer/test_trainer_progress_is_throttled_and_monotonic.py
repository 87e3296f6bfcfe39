"""The progress protocol: bands, monotonic progress, throttled patches, termination log."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from wattcast.crd import Phase, TerminationMessage
from wattcast.trainer.progress import (
    ProgressReporter,
    ProgressState,
    StatusPatcher,
    write_termination_log,
)


class RecordingApi:
    def __init__(self, fail: bool = False) -> None:
        self.patches: list[dict[str, Any]] = []
        self.fail = fail
        self.lock = threading.Lock()

    def patch_status(self, patch: dict[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("API unreachable")
        with self.lock:
            self.patches.append(patch)


class RecordingSink:
    def __init__(self) -> None:
        self.states: list[ProgressState] = []

    def update(self, state: ProgressState) -> None:
        self.states.append(state)

    def close(self) -> None:
        return None


def test_stages_map_to_their_bands_and_progress_never_decreases() -> None:
    sink = RecordingSink()
    reporter = ProgressReporter([sink])
    reporter.stage(Phase.PROCESSING_DATA, "query")
    reporter.stage(Phase.PROCESSING_DATA, "clean", 1.0)
    for epoch in range(1, 5):
        reporter.epoch(epoch, 4, 0.5, 0.6, 4 - epoch)
    reporter.stage(Phase.PROCESSING_DATA, "late event", 0.1)  # must not move progress back
    reporter.stage(Phase.SAVING, "save")
    progress = [s.progress for s in sink.states]
    assert progress == sorted(progress)
    assert progress[:2] == [0, 30]
    assert progress[2:6] == [45, 60, 75, 90]
    last_training = sink.states[5].training
    assert last_training is not None and last_training.epoch == 4
    patch = sink.states[5].status_patch()["status"]
    assert patch["training"] == {
        "epoch": 4,
        "epochs": 4,
        "loss": 0.5,
        "valLoss": 0.6,
        "etaSeconds": 0,
    }
    assert patch["phase"] == "Training"


def test_patches_are_throttled_and_the_last_one_is_always_sent() -> None:
    api = RecordingApi()
    patcher = StatusPatcher(api, interval=0.5)
    reporter = ProgressReporter([patcher])
    started = time.monotonic()
    for epoch in range(1, 51):
        reporter.epoch(epoch, 50, 1.0 / epoch, None, None)
    reporter.close()
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    # 50 updates in well under a second: the first goes out, then at most one per interval,
    # and the final state is never dropped.
    assert 1 <= len(api.patches) <= 3
    assert api.patches[-1]["status"]["training"]["epoch"] == 50
    assert api.patches[-1]["status"]["progress"] == 90


def test_an_unreachable_api_never_raises() -> None:
    api = RecordingApi(fail=True)
    patcher = StatusPatcher(api, interval=0.0)
    reporter = ProgressReporter([patcher])
    reporter.stage(Phase.PROCESSING_DATA, "query")
    reporter.close()
    assert patcher.failures >= 1 and patcher.sent == 0


def test_termination_log_holds_the_contract_message(tmp_path: Path) -> None:
    path = tmp_path / "termination-log"
    write_termination_log(
        path, TerminationMessage(phase="Failed", reason="NoData", message="x" * 1024)
    )
    data = json.loads(path.read_bytes())
    assert data["reason"] == "NoData"
    assert len(path.read_bytes()) <= 4096


def test_the_terminal_display_shows_stage_epoch_and_eta() -> None:
    import io

    from rich.console import Console

    from wattcast.trainer.progress import ConsoleDisplay

    buffer = io.StringIO()
    display = ConsoleDisplay(Console(file=buffer, force_terminal=True, width=160))
    reporter = ProgressReporter([display])
    reporter.stage(Phase.PROCESSING_DATA, "Querying InfluxDB")
    reporter.epoch(3, 10, 0.25, 0.3, 42)
    reporter.close()
    shown = buffer.getvalue()
    assert "Training" in shown
    assert "epoch 3/10" in shown
    assert "ETA 42s" in shown
