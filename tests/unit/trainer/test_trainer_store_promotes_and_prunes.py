"""The model store: new version per training, atomic promotion after verification, pruning."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wattcast.crd import MeterType
from wattcast.forecasting.errors import InvalidMeterIdError, TrainerError
from wattcast.trainer.store import ModelStore


def _write(text: str):  # type: ignore[no-untyped-def]
    def write(path: Path) -> None:
        path.write_text(text)

    return write


def _ok(path: Path) -> None:
    assert path.exists()


def test_save_writes_version_metadata_and_points_current_to_it(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    saved = store.save(
        MeterType.ELECTRICITY, "m-1", write=_write("v1"), verify=_ok, metadata={"a": 1}, keep=3
    )
    assert saved.model_path == f"electricity/m-1/versions/{saved.version}/model.keras"
    assert (tmp_path / saved.model_path).read_text() == "v1"
    meta = json.loads((saved.directory / "metadata.json").read_text())
    assert meta == {"a": 1, "version": saved.version}
    current = tmp_path / "electricity" / "m-1" / "current"
    assert current.is_symlink()
    assert os.readlink(current) == f"versions/{saved.version}"
    assert (current / "model.keras").read_text() == "v1"


def test_a_failed_verification_leaves_the_current_model_alone(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    first = store.save(MeterType.WATER, "w1", write=_write("good"), verify=_ok, metadata={}, keep=3)

    def reject(path: Path) -> None:
        raise TrainerError("does not load")

    with pytest.raises(TrainerError):
        store.save(MeterType.WATER, "w1", write=_write("bad"), verify=reject, metadata={}, keep=3)
    assert store.current(MeterType.WATER, "w1") == first.version
    assert store.versions(MeterType.WATER, "w1") == [first.version]
    leftovers = list((tmp_path / "water" / "w1" / "versions").iterdir())
    assert [p.name for p in leftovers] == [first.version]


def test_only_the_last_versions_are_kept(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    saved = [
        store.save(
            MeterType.ELECTRICITY, "m2", write=_write(str(i)), verify=_ok, metadata={}, keep=2
        )
        for i in range(4)
    ]
    assert store.versions(MeterType.ELECTRICITY, "m2") == [s.version for s in saved[-2:]]
    assert store.current(MeterType.ELECTRICITY, "m2") == saved[-1].version


def test_pruning_never_removes_the_current_version(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    first = store.save(
        MeterType.ELECTRICITY, "m3", write=_write("1"), verify=_ok, metadata={}, keep=5
    )
    store.save(MeterType.ELECTRICITY, "m3", write=_write("2"), verify=_ok, metadata={}, keep=5)
    store._promote(MeterType.ELECTRICITY, "m3", first.version)  # an operator rolled back
    store.prune(MeterType.ELECTRICITY, "m3", keep=1)
    assert store.versions(MeterType.ELECTRICITY, "m3") == [first.version]


def test_a_hostile_meter_id_never_becomes_a_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidMeterIdError):
        ModelStore(tmp_path).meter_dir(MeterType.ELECTRICITY, "../../etc")
