"""A TrainingJob's result is only as trustworthy as its trainer pod: the API and the dashboard
accept a `modelPath` only inside the TrainingJob's own meter directory
(`<meterType>/<meterId>/versions/<version>/<file>`), and the dashboard follows no link in the
store that could lead to another meter's files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from testkit import tj_body

from wattcast.api.dashboard.store import ModelStoreError, read_model_report
from wattcast.api.mapping import job_public, task_public
from wattcast.crd.modelstore import is_meter_model_path, meter_versions_dir, model_path_of
from wattcast.devtools.testbed.modelstore import sample_metadata
from wattcast.devtools.testbed.modelstore import write_version as store_version

OWN = "electricity/meter1/versions/20240101T000000000000Z-abcdef/model.keras"

HOSTILE = {
    "other-meter": "electricity/meter2/versions/20240101T000000000000Z-abcdef/model.keras",
    "other-type": "water/meter1/versions/20240101T000000000000Z-abcdef/model.keras",
    "prefix-of-meter": "electricity/meter10/versions/v1/model.keras",
    "dot-dot-out": "electricity/meter1/versions/../../meter2/versions/v1/model.keras",
    "dot-dot-version": "electricity/meter1/versions/../model.keras",
    "dot-dot-file": "electricity/meter1/versions/v1/..",
    "dot-version": "electricity/meter1/versions/./model.keras",
    "absolute": "/electricity/meter1/versions/v1/model.keras",
    "empty-part": "electricity//meter1/versions/v1/model.keras",
    "trailing-slash": "electricity/meter1/versions/v1/",
    "backslash": "electricity/meter1/versions/v1\\..\\..\\meter2/model.keras",
    "nul": "electricity/meter1/versions/v1/model.keras\x00",
    "deeper": "electricity/meter1/versions/v1/sub/model.keras",
    "shallower": "electricity/meter1/versions/model.keras",
    "current-link": "electricity/meter1/current/model.keras",
    "not-versions": "electricity/meter1/staging/v1/model.keras",
    "empty": "",
}


def test_the_own_meter_directory_is_named_by_the_spec() -> None:
    assert meter_versions_dir("electricity", "meter1") == "electricity/meter1/versions"
    assert is_meter_model_path(OWN, "electricity", "meter1")


@pytest.mark.parametrize("path", list(HOSTILE.values()), ids=list(HOSTILE))
def test_paths_outside_the_own_meter_directory_are_refused(path: str) -> None:
    assert not is_meter_model_path(path, "electricity", "meter1")


@pytest.mark.parametrize("value", [None, 7, ["electricity"], {"a": 1}], ids=repr)
def test_a_model_path_that_is_not_text_is_refused(value: object) -> None:
    assert not is_meter_model_path(value, "electricity", "meter1")


@pytest.mark.parametrize(
    ("meter_type", "meter_id"),
    [("gas", "meter1"), ("electricity", "a/b"), ("electricity", ".."), ("electricity", "")],
)
def test_an_unusable_spec_matches_no_path(meter_type: str, meter_id: str) -> None:
    assert not is_meter_model_path(OWN, meter_type, meter_id)
    assert not is_meter_model_path(f"{meter_type}/{meter_id}/versions/v/m", meter_type, meter_id)


def test_model_path_of_reads_status_and_spec_json() -> None:
    spec = {"meterType": "electricity", "meterId": "meter1"}
    assert model_path_of({"result": {"modelPath": OWN}}, spec) == OWN
    assert model_path_of({"result": {"modelPath": HOSTILE["other-meter"]}}, spec) is None
    assert model_path_of({"result": None}, spec) is None
    assert model_path_of({}, spec) is None
    assert model_path_of(None, spec) is None
    assert model_path_of({"result": {"modelPath": OWN}}, None) is None
    assert model_path_of({"result": {"modelPath": OWN}}, {"meterType": 1, "meterId": "m"}) is None


def succeeded(model_path: str) -> dict[str, Any]:
    return {
        **tj_body("tj-forged", namespace="default"),
        "status": {
            "phase": "Succeeded",
            "progress": 100,
            "result": {
                "modelPath": model_path,
                "dataPoints": 8000,
                "trainingCompleted": "2024-01-01T00:00:00Z",
            },
        },
    }


def test_the_seed_status_names_the_own_model() -> None:
    details = task_public(succeeded(OWN)).model_dump(exclude_none=True)["result"]["details"]
    assert details["model_path"] == f"models/{OWN}"


@pytest.mark.parametrize("path", list(HOSTILE.values())[:8], ids=list(HOSTILE)[:8])
def test_the_seed_status_names_no_foreign_model(path: str) -> None:
    result = task_public(succeeded(path)).model_dump(exclude_none=True)["result"]
    assert result["status"] == "success"
    assert "model_path" not in result["details"]
    assert result["details"]["data_points"] == 0  # the forged result is not shown at all
    assert result["message"] == "Training succeeded, but no model of this meter was reported."
    assert path not in json.dumps(result)


@pytest.mark.parametrize("path", list(HOSTILE.values())[:8], ids=list(HOSTILE)[:8])
def test_the_resource_view_leaves_a_foreign_result_out(path: str) -> None:
    public = job_public(succeeded(path))
    assert public.status is not None
    assert public.status.result is None
    assert public.status.phase is not None


def test_the_resource_view_keeps_the_own_result() -> None:
    public = job_public(succeeded(OWN))
    assert public.status is not None and public.status.result is not None
    assert public.status.result.model_path == OWN


# --- The dashboard's reader follows no link inside the store ------------------------------


def write_version(store: Path, meter: str, version: str) -> Path:
    metadata = sample_metadata(meter_id=meter, job_name=meter)
    path = store_version(store, "electricity", meter, version, metadata)
    return (store / path).parent


def test_the_own_model_is_read(tmp_path: Path) -> None:
    write_version(tmp_path, "meter1", "v1")
    report = read_model_report(tmp_path, "electricity/meter1/versions/v1/model.keras")
    assert report.meter == {"id": "meter1", "type": "electricity"}


def test_a_version_directory_linked_to_another_meter_is_refused(tmp_path: Path) -> None:
    other = write_version(tmp_path, "meter2", "v1")
    (tmp_path / "electricity" / "meter1" / "versions").mkdir(parents=True)
    os.symlink(other, tmp_path / "electricity" / "meter1" / "versions" / "v1")
    with pytest.raises(ModelStoreError, match="goes through a link in the model store"):
        read_model_report(tmp_path, "electricity/meter1/versions/v1/model.keras")


def test_a_meter_directory_linked_to_another_meter_is_refused(tmp_path: Path) -> None:
    write_version(tmp_path, "meter2", "v1")
    os.symlink(tmp_path / "electricity" / "meter2", tmp_path / "electricity" / "meter1")
    with pytest.raises(ModelStoreError, match="goes through a link in the model store"):
        read_model_report(tmp_path, "electricity/meter1/versions/v1/model.keras")


def test_a_metadata_file_linked_to_another_meters_is_refused(tmp_path: Path) -> None:
    other = write_version(tmp_path, "meter2", "v1")
    own = write_version(tmp_path, "meter1", "v1")
    (own / "metadata.json").unlink()
    os.symlink(other / "metadata.json", own / "metadata.json")
    with pytest.raises(ModelStoreError, match="goes through a link in the model store"):
        read_model_report(tmp_path, "electricity/meter1/versions/v1/model.keras")


def test_a_model_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    other = write_version(tmp_path, "meter2", "v1")
    own = write_version(tmp_path, "meter1", "v1")
    (own / "model.keras").unlink()
    os.symlink(other / "model.keras", own / "model.keras")
    with pytest.raises(ModelStoreError, match="goes through a link in the model store"):
        read_model_report(tmp_path, "electricity/meter1/versions/v1/model.keras")


def test_a_store_root_that_is_a_link_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "volume"
    write_version(real, "meter1", "v1")
    os.symlink(real, tmp_path / "models")
    report = read_model_report(tmp_path / "models", "electricity/meter1/versions/v1/model.keras")
    assert report.version == "v1"


def test_lineage_skips_metadata_linked_from_another_meter(tmp_path: Path) -> None:
    other = write_version(tmp_path, "meter2", "v9")
    write_version(tmp_path, "meter1", "v1")
    linked = tmp_path / "electricity" / "meter1" / "versions" / "v2"
    linked.mkdir()
    os.symlink(other / "metadata.json", linked / "metadata.json")
    report = read_model_report(tmp_path, "electricity/meter1/versions/v1/model.keras")
    by_version = {v.version: v for v in report.versions}
    assert by_version["v1"].training_job == "meter1"
    assert by_version["v2"].training_job is None  # listed, but the other meter's file unread
