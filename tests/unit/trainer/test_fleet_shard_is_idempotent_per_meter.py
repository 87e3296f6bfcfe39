"""A fleet shard trains its slice of the meter list, goes on past a failing meter, records
each final outcome in the model store, and a retry skips what is finished
(wattcast.trainer.fleet). Training itself is faked here; tests/integration/fleet runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wattcast.crd import Reason, TerminationMessage, TrainingResult, constants
from wattcast.crd.fleettrainingjob import ShardReport, fleet_outcome_path, shard_progress
from wattcast.trainer.fleet import UNREACHABLE_STREAK, Fleet, read_outcome, run_shard
from wattcast.trainer.fleet_main import shard_main
from wattcast.trainer.progress import ShardProgress, StatusPatcher
from wattcast.trainer.settings import TrainerSettings

VERSION = "20230101T000000000000Z-abcdef"
UID = "0a1b2c3d-0000-4000-8000-000000000001"
METRICS = {
    "holdout": {"start": "2023-02-01T00:00:00Z", "end": "2023-02-15T00:00:00Z", "points": 336},
    "model": {"mae": 0.8, "rmse": 1.0, "smape": 10.0},
    "baselines": {
        "naiveDaily": {"mae": 1.0, "rmse": 1.2, "smape": 12.0},
        "naiveWeekly": {"mae": 1.6, "rmse": 1.9, "smape": 15.0},
    },
}


def fleet(ids: list[str], per_pod: int = 3) -> Fleet:
    return Fleet.from_document(
        {
            "name": "f",
            "namespace": "ns",
            "uid": UID,
            "spec": {
                "meters": {"ids": ids},
                "meterType": "electricity",
                "start": "2023-01-01T00:00:00Z",
                "end": "2023-03-01T00:00:00Z",
                "metersPerPod": per_pod,
            },
        },
        "test",
    )


class FakeTrainer:
    """Succeeds, fails for good (no data) or for now (InfluxDB unreachable), per meter."""

    def __init__(self, permanent: set[str] = frozenset(), retriable: set[str] = frozenset()):
        self.permanent, self.retriable = set(permanent), set(retriable)
        self.trained: list[str] = []

    def __call__(self, meter: str) -> tuple[int, Any, float]:
        self.trained.append(meter)
        if meter in self.permanent:
            return 2, TerminationMessage(phase="Failed", reason=Reason.NO_DATA, message="none"), 0.1
        if meter in self.retriable:
            message = TerminationMessage(
                phase="Failed", reason=Reason.INFLUX_UNAVAILABLE, message="source down"
            )
            return 1, message, 0.1
        result = TrainingResult.model_validate(
            {
                "modelPath": f"electricity/{meter}/versions/{VERSION}/model.keras",
                "dataPoints": 1000,
                "trainingCompleted": "2023-03-01T00:00:00Z",
                "metrics": METRICS,
                "promoted": True,
            }
        )
        message = TerminationMessage(
            phase="Succeeded", reason=Reason.TRAINING_SUCCEEDED, message="ok", result=result
        )
        return 0, message, 0.5


def test_a_shard_trains_its_slice_and_goes_on_past_failures(tmp_path: Path) -> None:
    ids = [f"m{i}" for i in range(7)]
    trainer = FakeTrainer(permanent={"m4"})
    run = run_shard(fleet(ids), 1, models_dir=tmp_path, train_one=trainer)
    assert trainer.trained == ["m3", "m4", "m5"]
    report = run.report()
    assert (report.phase, report.meters, report.succeeded, report.failed) == ("Succeeded", 3, 2, 1)
    assert (report.promoted, report.beat_baseline) == (2, 2)
    assert [f.meter for f in report.failures] == ["m4"]
    assert sum(report.histogram) == 2
    outcome = read_outcome(tmp_path, UID, "m3")
    assert outcome is not None and outcome.succeeded and outcome.ratio == 0.8
    assert (tmp_path / fleet_outcome_path(UID, "m4")).exists()  # a final failure is final


def test_a_retried_shard_skips_finished_meters_and_retries_the_rest(tmp_path: Path) -> None:
    ids = [f"m{i}" for i in range(3)]
    first = FakeTrainer(retriable={"m1"})
    report = run_shard(fleet(ids), 0, models_dir=tmp_path, train_one=first).report()
    assert report.phase == "Failed" and report.reason == Reason.INFLUX_UNAVAILABLE
    assert not (tmp_path / fleet_outcome_path(UID, "m1")).exists()
    second = FakeTrainer()
    again = run_shard(fleet(ids), 0, models_dir=tmp_path, train_one=second)
    assert second.trained == ["m1"]
    assert again.skipped == 2
    assert again.report().phase == "Succeeded" and again.report().succeeded == 3


def test_an_unreachable_source_stops_the_attempt_after_a_streak(tmp_path: Path) -> None:
    ids = [f"m{i}" for i in range(10)]
    trainer = FakeTrainer(retriable=set(ids))
    run = run_shard(fleet(ids, per_pod=10), 0, models_dir=tmp_path, train_one=trainer)
    assert len(trainer.trained) == UNREACHABLE_STREAK
    report = run.report()
    assert report.failed == 10 and report.reason == Reason.INFLUX_UNAVAILABLE
    assert "InfluxUnavailable" in report.message


def test_threads_give_the_same_counts(tmp_path: Path) -> None:
    ids = [f"m{i}" for i in range(6)]
    trainer = FakeTrainer(permanent={"m2"})
    run = run_shard(fleet(ids, per_pod=6), 0, models_dir=tmp_path, train_one=trainer, workers=3)
    assert sorted(trainer.trained) == ids
    assert (run.report().succeeded, run.report().failed) == (5, 1)


def test_a_bad_fleet_file_is_a_permanent_failure_with_a_report(tmp_path: Path) -> None:
    bad = tmp_path / "fleet.json"
    bad.write_text(json.dumps({"name": "f", "namespace": "ns", "uid": UID, "spec": {}}))
    log = tmp_path / "termination-log"
    code = shard_main(bad, 0, tmp_path, log, 1)
    assert code == 2
    report = ShardReport.model_validate_json(log.read_bytes())
    assert report.phase == "Failed" and report.reason == Reason.INVALID_CONFIG


def test_a_shard_says_how_many_meters_are_finished_as_it_goes(tmp_path: Path) -> None:
    ids = [f"m{i}" for i in range(6)]
    run_shard(fleet(ids), 0, models_dir=tmp_path, train_one=FakeTrainer(retriable={"m1"}))
    seen: list[int] = []

    def broken(meter: str) -> tuple[int, Any, float]:
        raise RuntimeError("a bug")

    # The retry starts at the two meters finished before (m0, m2), then counts each meter
    # however it ends, a bug in training included.
    run_shard(fleet(ids), 0, models_dir=tmp_path, train_one=broken, on_progress=seen.append)
    assert seen == [2, 3]


def test_live_progress_goes_to_the_fleets_lease(tmp_path: Path) -> None:
    class Lease:
        def __init__(self) -> None:
            self.annotations: dict[str, str] = {}

        def patch_status(self, patch: dict[str, Any]) -> None:
            self.annotations.update(patch["metadata"]["annotations"])

    lease = Lease()
    progress = ShardProgress(StatusPatcher(lease, interval=0.0), index=4)
    ids = [f"m{i}" for i in range(15)]
    run_shard(fleet(ids), 4, models_dir=tmp_path, train_one=FakeTrainer(), on_progress=progress)
    progress.close()
    assert shard_progress(lease.annotations) == {4: 3}


def test_the_operator_names_the_lease_in_the_setting_the_shard_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(constants.ENV_FLEET_PROGRESS_LEASE, "fleet-progress")
    assert TrainerSettings().fleet_progress_lease == "fleet-progress"
