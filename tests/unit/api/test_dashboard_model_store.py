"""The dashboard's reader of the model store: what it plots, and what it refuses to read."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from wattcast.api.dashboard.store import (
    MAX_METADATA_BYTES,
    ModelNotFoundError,
    ModelStoreError,
    read_model_report,
)
from wattcast.devtools.testbed.modelstore import sample_metadata

TIMES = ["2025-02-15T00:00:00Z", "2025-02-15T01:00:00Z", "2025-02-15T02:00:00Z"]


def trainer_metadata(**changes: Any) -> dict[str, Any]:
    data = sample_metadata()
    data.update(changes)
    return data


def write_version(
    store: Path,
    version: str,
    metadata: dict[str, Any] | str,
    *,
    meter: str = "m1",
    current: bool = False,
) -> str:
    directory = store / "electricity" / meter / "versions" / version
    directory.mkdir(parents=True)
    (directory / "model.keras").write_bytes(b"x")
    text = metadata if isinstance(metadata, str) else json.dumps(metadata)
    (directory / "metadata.json").write_text(text, encoding="utf-8")
    if current:
        link = store / "electricity" / meter / "current"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(Path("versions") / version)
    return f"electricity/{meter}/versions/{version}/model.keras"


def test_a_trainers_metadata_gives_loss_holdout_and_passed_through_facts(tmp_path: Path) -> None:
    path = write_version(tmp_path, "v2", trainer_metadata(), current=True)
    report = read_model_report(tmp_path, path)
    assert report.problems == []
    assert report.version == "v2"
    assert report.current is True
    assert report.loss is not None
    assert report.loss.epochs == [1, 2, 3]
    assert report.loss.val_loss == [1.1, 0.73333, 0.55]
    assert report.holdout is not None
    assert report.holdout.actual[1] is None and len(report.holdout.actual) == 3
    assert report.meter == {"id": "m1", "type": "electricity"}
    assert report.training_job == {"name": "tj-one", "namespace": "default", "uid": "u-1"}
    assert isinstance(report.promotion, dict) and report.promotion["promoted"] is True
    assert isinstance(report.interval, dict) and report.interval["level"] == 0.9
    body = report.model_dump(mode="json", by_alias=True)
    assert body["holdout"]["timestamps"][0] == "2025-02-15T00:00:00Z"
    assert set(body["holdout"]) == {
        "timestamps",
        "actual",
        "forecast",
        "naiveDaily",
        "naiveWeekly",
    }
    assert body["loss"]["valLoss"] == [1.1, 0.73333, 0.55]


def test_lineage_lists_every_version_newest_first_and_marks_the_current_one(
    tmp_path: Path,
) -> None:
    old = sample_metadata(job_name="tj-old", smape=12.0, promoted=False)
    write_version(tmp_path, "20250101T000000Z", old)
    path = write_version(tmp_path, "20250201T000000Z", trainer_metadata(), current=True)
    write_version(tmp_path, "20250301T000000Z", "{broken json")
    report = read_model_report(tmp_path, path)
    assert [v.version for v in report.versions] == [
        "20250301T000000Z",
        "20250201T000000Z",
        "20250101T000000Z",
    ]
    assert [v.current for v in report.versions] == [False, True, False]
    assert [v.training_job for v in report.versions] == [None, "tj-one", "tj-old"]
    assert [v.promoted for v in report.versions] == [None, True, False]
    assert report.versions[2].smape == 12.0
    assert report.versions[0].model_path == "electricity/m1/versions/20250301T000000Z/model.keras"


def test_a_model_that_is_no_longer_current_says_so(tmp_path: Path) -> None:
    path = write_version(tmp_path, "v1", trainer_metadata())
    write_version(tmp_path, "v2", trainer_metadata(), current=True)
    assert read_model_report(tmp_path, path).current is False


def _renamed(data: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    data = dict(data)
    data[new] = data.pop(old)
    return data


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        (_renamed(sample_metadata(), "holdoutSeries", "holdout_series"), "holdoutSeries: Field"),
        (_renamed(sample_metadata(), "libraries", "libraryVersions"), "libraryVersions: Extra"),
        (
            {**sample_metadata(), "history": {"loss": [0.3], "val_loss": [0.4]}},
            "history.val_loss: Extra inputs are not permitted",
        ),
        ({**sample_metadata(), "history": {"loss": "high"}}, "history.loss"),
        ({**sample_metadata(), "trainingJob": "tj-one"}, "trainingJob"),
    ],
    ids=["holdoutSeries", "libraries", "val_loss", "loss-not-a-list", "trainingJob"],
)
def test_a_renamed_or_mistyped_key_is_named_and_nothing_is_guessed(
    tmp_path: Path, metadata: dict[str, Any], problem: str
) -> None:
    path = write_version(tmp_path, "v1", metadata, current=True)
    report = read_model_report(tmp_path, path)
    assert any("does not follow the model store contract" in p for p in report.problems)
    assert any(problem in p for p in report.problems), report.problems
    assert report.loss is None and report.holdout is None and report.metrics is None
    assert report.versions[0].training_job is None  # the lineage does not guess either


def test_a_holdout_series_of_unequal_lengths_is_left_out(tmp_path: Path) -> None:
    meta = trainer_metadata()
    meta["holdoutSeries"] = {**meta["holdoutSeries"], "actual": [1.0]}
    report = read_model_report(tmp_path, write_version(tmp_path, "v1", meta))
    assert report.holdout is None
    assert any("actual has 1 values for 3 times" in p for p in report.problems)


def test_val_loss_of_another_length_is_left_out(tmp_path: Path) -> None:
    meta = trainer_metadata(history={"loss": [0.9, 0.5], "valLoss": [1.0]})
    report = read_model_report(tmp_path, write_version(tmp_path, "v1", meta))
    assert report.loss is not None and report.loss.val_loss is None
    assert any("differ in length" in p for p in report.problems)


def test_the_trainers_staging_directories_are_not_versions(tmp_path: Path) -> None:
    path = write_version(tmp_path, "20250201T000000000000Z-abc123", trainer_metadata())
    (
        tmp_path / "electricity" / "m1" / "versions" / ".staging-20250301T000000000000Z-def456"
    ).mkdir()
    report = read_model_report(tmp_path, path)
    assert [v.version for v in report.versions] == ["20250201T000000000000Z-abc123"]


@pytest.mark.parametrize(
    "model_path",
    [
        "../etc/passwd",
        "electricity/m1/../../../secret/model.keras",
        "/etc/passwd",
        "electricity//m1/model.keras",
        "./electricity/m1/model.keras",
    ],
)
def test_paths_that_could_leave_the_store_are_refused(tmp_path: Path, model_path: str) -> None:
    store = tmp_path / "store"
    store.mkdir()
    with pytest.raises(ModelStoreError, match="not a plain path inside the store"):
        read_model_report(store, model_path)


def test_a_symlink_out_of_the_store_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "v1"
    outside.mkdir(parents=True)
    (outside / "metadata.json").write_text(json.dumps(trainer_metadata()), encoding="utf-8")
    store = tmp_path / "store"
    (store / "electricity" / "m1" / "versions").mkdir(parents=True)
    os.symlink(outside, store / "electricity" / "m1" / "versions" / "v1")
    with pytest.raises(ModelStoreError, match="leads outside the model store"):
        read_model_report(store, "electricity/m1/versions/v1/model.keras")


def test_a_missing_model_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"metadata\.json not found"):
        read_model_report(tmp_path, "electricity/m1/versions/v9/model.keras")


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "is not valid JSON"), ("[1, 2]", "does not hold a JSON object")],
)
def test_bad_metadata_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = write_version(tmp_path, "v1", text)
    with pytest.raises(ModelStoreError, match=message):
        read_model_report(tmp_path, path)


def test_an_oversized_metadata_file_is_not_read(tmp_path: Path) -> None:
    path = write_version(tmp_path, "v1", " " * (MAX_METADATA_BYTES + 1))
    with pytest.raises(ModelStoreError, match="more than"):
        read_model_report(tmp_path, path)


def test_a_model_outside_the_versioned_layout_has_no_lineage(tmp_path: Path) -> None:
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "metadata.json").write_text(
        json.dumps(trainer_metadata()), encoding="utf-8"
    )
    report = read_model_report(tmp_path, "legacy/meter1.h5")
    assert report.versions == []
    assert any("not in the versioned layout" in p for p in report.problems)
