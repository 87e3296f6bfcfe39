"""The model store contract: layout helpers and metadata.json, one spelling per key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from wattcast.crd import MeterType
from wattcast.crd.modelstore import ModelMetadata, meter_dir, model_path, version_dir
from wattcast.devtools.testbed.modelstore import VERSION, sample_metadata


def test_metadata_round_trips_through_its_json_text() -> None:
    meta = ModelMetadata.from_json_dict(sample_metadata())
    again = ModelMetadata.from_json_text(meta.to_json_text())
    assert again == meta
    assert json.loads(meta.to_json_text())["holdoutSeries"]["naiveDaily"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("holdoutSeries", "holdout_series"),
        ("trainingJob", "training_job"),
        ("libraries", "libraryVersions"),
        ("promotion", "promoted"),
        ("features", "featureNames"),
    ],
)
def test_a_renamed_key_fails(old: str, new: str) -> None:
    data: dict[str, Any] = sample_metadata()
    data[new] = data.pop(old)
    with pytest.raises(ValidationError) as caught:
        ModelMetadata.from_json_dict(data)
    locations = {e["loc"][0] for e in caught.value.errors()}
    assert {old, new} <= locations


def test_a_renamed_nested_key_fails() -> None:
    data = sample_metadata()
    data["history"] = {"loss": [1.0], "val_loss": [1.0]}
    with pytest.raises(ValidationError, match="val_loss"):
        ModelMetadata.from_json_dict(data)


def test_check_meter_refuses_another_meters_version() -> None:
    meta = ModelMetadata.from_json_dict(sample_metadata(meter_id="m1"))
    meta.check_meter(MeterType.ELECTRICITY, "m1")
    with pytest.raises(ValueError, match="belongs to meter electricity/m1, not water/m1"):
        meta.check_meter(MeterType.WATER, "m1")


def test_layout_paths_and_their_refusals() -> None:
    assert (
        model_path(MeterType.WATER, "w-1", VERSION) == f"water/w-1/versions/{VERSION}/model.keras"
    )
    assert version_dir(MeterType.ELECTRICITY, "m", VERSION).parts[2] == "versions"
    with pytest.raises(ValueError, match="not a valid meter id"):
        meter_dir(MeterType.ELECTRICITY, "../x")
    with pytest.raises(ValueError, match="not a model version"):
        version_dir(MeterType.ELECTRICITY, "m", "latest")
