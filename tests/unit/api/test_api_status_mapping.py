"""TrainingJob objects map to the seed's status words and result shapes (docs/design.md §2.1)."""

from __future__ import annotations

from typing import Any

import pytest
from testkit import tj_body

from wattcast.api.mapping import (
    comparable_spec,
    job_public,
    progress_of,
    task_public,
    task_status,
)
from wattcast.api.models import TaskStatus
from wattcast.crd import constants


def _job(
    phase: str | None = None,
    *,
    cancelled: bool = False,
    status: dict[str, Any] | None = None,
    name: str = "a1b2c3d4-e5f6-7890-abcd-1234567890ab",
) -> dict[str, Any]:
    obj = tj_body(name, namespace="default", metadata={"resourceVersion": "7"})
    if cancelled:
        obj["metadata"]["annotations"] = {constants.ANNOTATION_CANCELLED: "true"}
        obj["spec"]["suspend"] = True
    if phase is not None or status:
        obj["status"] = {**({"phase": phase} if phase else {}), **(status or {})}
    return obj


@pytest.mark.parametrize(
    ("phase", "word"),
    [
        ("Pending", "PENDING"),
        ("ProcessingData", "PROCESSING_DATA"),
        ("Training", "TRAINING"),
        ("Saving", "SAVING_MODEL"),
        ("Succeeded", "SUCCESS"),
        ("Failed", "FAILURE"),
        ("Queued", "QUEUED"),
        ("Suspended", "SUSPENDED"),
    ],
    ids=lambda v: str(v),
)
def test_every_phase_has_the_seeds_word(phase: str, word: str) -> None:
    assert task_status(_job(phase)) == TaskStatus(word)


def test_a_job_the_operator_has_not_seen_is_pending() -> None:
    assert task_status(_job()) is TaskStatus.PENDING
    assert progress_of(_job()) == 0


@pytest.mark.parametrize("phase", [None, "Pending", "Training", "Suspended"], ids=str)
def test_a_cancelled_running_job_is_revoked(phase: str | None) -> None:
    assert task_status(_job(phase, cancelled=True)) is TaskStatus.REVOKED


@pytest.mark.parametrize(("phase", "word"), [("Succeeded", "SUCCESS"), ("Failed", "FAILURE")])
def test_a_finished_phase_wins_over_a_late_cancel(phase: str, word: str) -> None:
    assert task_status(_job(phase, cancelled=True)) == TaskStatus(word)


def test_an_unknown_phase_reads_as_pending() -> None:
    assert task_status(_job("Exploding")) is TaskStatus.PENDING


def test_in_progress_answer_has_no_result_key() -> None:
    public = task_public(_job("ProcessingData", status={"progress": 30}))
    assert public.model_dump(exclude_none=True) == {
        "task_id": "a1b2c3d4-e5f6-7890-abcd-1234567890ab",
        "status": "PROCESSING_DATA",
        "progress": 30,
    }


def test_success_has_the_seeds_exact_result_shape() -> None:
    obj = _job(
        "Succeeded",
        status={
            "progress": 99,
            "result": {
                "modelPath": "electricity/meter1/versions/20230601T123456Z/model.keras",
                "dataPoints": 8760,
                "trainingCompleted": "2023-06-01T12:34:56.789012Z",
            },
        },
    )
    path = "models/electricity/meter1/versions/20230601T123456Z/model.keras"
    assert task_public(obj).model_dump(mode="json", exclude_none=True) == {
        "task_id": "a1b2c3d4-e5f6-7890-abcd-1234567890ab",
        "status": "SUCCESS",
        "progress": 100,
        "result": {
            "status": "success",
            "message": f"Model trained and saved at {path}",
            "details": {
                "meter_id": "meter1",
                "meter_type": "electricity",
                "data_points": 8760,
                "model_path": path,
                "training_completed": "2023-06-01T12:34:56.789012Z",
            },
        },
    }


def test_failure_reports_the_failed_conditions_reason_and_message() -> None:
    obj = _job(
        "Failed",
        status={
            "progress": 12,
            "attempts": 1,
            "completionTime": "2024-01-01T00:00:00Z",
            "message": "older message",
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "DataInsufficient",
                    "message": "Only 3.5 days of data after cleaning; at least 14 are needed.",
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ],
        },
    )
    body = task_public(obj).model_dump(mode="json", exclude_none=True)
    assert body["status"] == "FAILURE"
    assert body["progress"] == 12
    assert body["result"] == {
        "status": "failure",
        "message": "Only 3.5 days of data after cleaning; at least 14 are needed.",
        "details": {
            "reason": "DataInsufficient",
            "meter_id": "meter1",
            "meter_type": "electricity",
            "attempts": 1,
            "failed_at": "2024-01-01T00:00:00Z",
        },
    }


def test_failure_without_a_condition_uses_the_status_message() -> None:
    body = task_public(_job("Failed", status={"message": "Job lost"})).model_dump(mode="json")
    assert body["result"]["message"] == "Job lost"
    assert body["result"]["details"]["reason"] == "Unknown"


@pytest.mark.parametrize("raw", [150, -3, "50", True], ids=["over", "negative", "string", "bool"])
def test_progress_is_clamped_and_typed(raw: object) -> None:
    value = progress_of(_job("Training", status={"progress": raw}))
    assert 0 <= value <= 100
    if isinstance(raw, str | bool):
        assert value == 0


def test_resource_view_keeps_unknown_status_fields_out_instead_of_failing() -> None:
    obj = _job("Training", status={"progress": 40, "kopf": {"progress": {}}})
    public = job_public(obj)
    assert public.task_status is TaskStatus.TRAINING
    assert public.status is not None and public.status.progress == 40


def test_same_submission_compares_instants_not_spellings_and_ignores_suspend() -> None:
    a = _job()["spec"]
    b = {**a, "start": "2024-01-01T01:00:00+01:00", "suspend": True}
    assert comparable_spec(a) == comparable_spec(b)
    assert comparable_spec(a) != comparable_spec({**a, "meterId": "meter2"})


def test_messages_a_pod_wrote_are_shown_without_addresses() -> None:
    internal = (
        "InfluxUnavailable: HTTPConnectionPool(host='10.0.0.5', port=8086) http://x.internal:1/"
    )
    obj = _job(
        "Failed",
        status={
            "message": internal,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": internal,
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ],
        },
    )
    shown = [
        job_public(obj).model_dump_json(),
        task_public(obj).model_dump_json(),
    ]
    for text in shown:
        assert "10.0.0.5" not in text and "8086" not in text and "x.internal" not in text
        assert "[address]" in text
