"""A TrainingJob gets the same labels from the API as from `kubectl apply` (the operator adds
them): both take them from the contract's one function."""

from __future__ import annotations

import pytest
from testkit import tj_body

from wattcast.api.submitting import manifest
from wattcast.crd import TrainingJob, TrainingJobSpec, constants
from wattcast.crd.labels import trainingjob_labels
from wattcast.operator.rendering import missing_labels


def spec(meter_id: str = "meter1", meter_type: str = "water") -> TrainingJobSpec:
    return TrainingJobSpec.model_validate(
        {
            "meterId": meter_id,
            "meterType": meter_type,
            "start": "2024-01-01T00:00:00Z",
            "end": "2024-03-01T00:00:00Z",
        }
    )


def applied(s: TrainingJobSpec) -> TrainingJob:
    """A TrainingJob as `kubectl apply` makes it: no labels at all."""
    body = tj_body("tj-applied", s.to_json_dict(), namespace="ns", metadata={"uid": "u-1"})
    return TrainingJob.model_validate(body)


@pytest.mark.parametrize(
    ("meter_id", "labelled"),
    [("meter1", True), ("W-0042.north_3", True), ("W-0042:north", False), ("a" * 64, False)],
    ids=["plain", "dots-dashes", "colon", "too-long"],
)
def test_api_made_and_applied_trainingjobs_get_the_same_labels(
    meter_id: str, labelled: bool
) -> None:
    s = spec(meter_id)
    from_api = manifest(name="tj-api", namespace="ns", spec=s, idempotency_key=None)
    from_operator = missing_labels(applied(s))
    assert from_api["metadata"]["labels"] == from_operator == trainingjob_labels(s)
    assert (constants.LABEL_METER_ID in from_operator) is labelled


def test_the_labels_name_wattcast_and_the_meter() -> None:
    assert trainingjob_labels(spec("m-7", "electricity")) == {
        "app.kubernetes.io/part-of": "wattcast",
        "wattcast.dev/meter-type": "electricity",
        "wattcast.dev/meter-id": "m-7",
    }
