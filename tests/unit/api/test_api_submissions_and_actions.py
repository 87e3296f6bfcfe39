"""Names of submissions, the TrainingJob manifest, and which suspend/resume/cancel fit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from wattcast.api.controlling import Action, plan
from wattcast.api.errors import ApiProblem
from wattcast.api.submitting import job_name, manifest
from wattcast.crd import MeterType, TrainingJobSpec, constants

SPEC = TrainingJobSpec(
    meter_id="meter1",
    meter_type=MeterType.ELECTRICITY,
    start=datetime(2023, 1, 1, tzinfo=UTC),
    end=datetime(2024, 1, 1, tzinfo=UTC),
)


def test_an_idempotency_key_always_gives_the_same_name_per_namespace() -> None:
    a = job_name(namespace="ns", name=None, idempotency_key="k-1")
    assert a == job_name(namespace="ns", name=None, idempotency_key="k-1")
    assert a != job_name(namespace="other", name=None, idempotency_key="k-1")
    assert a != job_name(namespace="ns", name=None, idempotency_key="k-2")
    assert uuid.UUID(a).version == 5


def test_without_key_or_name_each_submission_gets_a_fresh_uuid() -> None:
    a = job_name(namespace="ns", name=None, idempotency_key=None)
    assert uuid.UUID(a).version == 4
    assert a != job_name(namespace="ns", name=None, idempotency_key=None)


def test_a_client_name_wins() -> None:
    assert job_name(namespace="ns", name="mine", idempotency_key="k") == "mine"


def test_manifest_labels_and_key() -> None:
    body = manifest(name="n", namespace="ns", spec=SPEC, idempotency_key="key-1")
    assert body["apiVersion"] == "wattcast.dev/v1alpha1" and body["kind"] == "TrainingJob"
    assert body["metadata"]["labels"][constants.LABEL_METER_ID] == "meter1"
    assert body["metadata"]["labels"][constants.LABEL_METER_TYPE] == "electricity"
    assert body["metadata"]["annotations"] == {constants.ANNOTATION_IDEMPOTENCY_KEY: "key-1"}
    assert body["spec"]["meterId"] == "meter1" and body["spec"]["start"] == "2023-01-01T00:00:00Z"


def test_a_meter_id_that_is_no_label_value_gets_no_meter_label() -> None:
    spec = SPEC.model_copy(update={"meter_id": "site:7"})
    body = manifest(name="n", namespace="ns", spec=spec, idempotency_key=None)
    assert constants.LABEL_METER_ID not in body["metadata"]["labels"]
    assert "annotations" not in body["metadata"]


def _obj(
    phase: str | None = None, *, suspend: bool = False, cancelled: bool = False
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "job", "resourceVersion": "5"}
    if cancelled:
        metadata["annotations"] = {constants.ANNOTATION_CANCELLED: "true"}
    obj: dict[str, Any] = {
        "metadata": metadata,
        "spec": {**SPEC.to_json_dict(), "suspend": suspend},
    }
    if phase:
        obj["status"] = {"phase": phase}
    return obj


def test_cancel_suspends_and_marks_with_the_seen_resource_version() -> None:
    assert plan(_obj("Training"), Action.CANCEL) == {
        "metadata": {
            "resourceVersion": "5",
            "annotations": {constants.ANNOTATION_CANCELLED: "true"},
        },
        "spec": {"suspend": True},
    }


@pytest.mark.parametrize(
    ("obj", "action"),
    [
        (_obj("Training", suspend=True, cancelled=True), Action.CANCEL),
        (_obj("Suspended", suspend=True), Action.SUSPEND),
        (_obj("Training"), Action.RESUME),
        (_obj(suspend=True, cancelled=True), Action.SUSPEND),
    ],
    ids=["cancel-twice", "suspend-twice", "resume-running", "suspend-cancelled"],
)
def test_repeating_an_action_changes_nothing(obj: dict[str, Any], action: Action) -> None:
    assert plan(obj, action) is None


@pytest.mark.parametrize(
    ("obj", "action", "words"),
    [
        (_obj("Succeeded"), Action.CANCEL, "already finished"),
        (_obj("Failed"), Action.SUSPEND, "already finished"),
        (_obj("Succeeded", suspend=True), Action.RESUME, "already finished"),
        (_obj("Suspended", suspend=True, cancelled=True), Action.RESUME, "cannot be resumed"),
    ],
    ids=["cancel-succeeded", "suspend-failed", "resume-succeeded", "resume-cancelled"],
)
def test_actions_that_do_not_fit_are_409(obj: dict[str, Any], action: Action, words: str) -> None:
    with pytest.raises(ApiProblem) as caught:
        plan(obj, action)
    assert caught.value.status_code == 409
    assert words in caught.value.detail


def test_resume_clears_suspend() -> None:
    assert plan(_obj("Suspended", suspend=True), Action.RESUME) == {
        "metadata": {"resourceVersion": "5"},
        "spec": {"suspend": False},
    }
