"""What every client shows (stage, finished, failure reason and message) is decided by the API
once, in TrainingJobPublic; the dashboard and the CLI only display it."""

from __future__ import annotations

from typing import Any

import pytest
from testkit import tj_body

from wattcast.api.mapping import job_public
from wattcast.api.models import Stage
from wattcast.crd import constants

FAILED_CONDITION = {
    "type": "Failed",
    "status": "True",
    "reason": "DataInsufficient",
    "message": "Only 3.5 days of data after cleaning; at least 14 are needed.",
    "lastTransitionTime": "2024-01-01T00:00:00Z",
}


def _job(phase: str | None = None, *, cancelled: bool = False, **status: Any) -> dict[str, Any]:
    obj = tj_body(
        "tj-shown",
        namespace="default",
        metadata={"resourceVersion": "3"},
        meterType="water",
        suspend=cancelled,
    )
    if cancelled:
        obj["metadata"]["annotations"] = {constants.ANNOTATION_CANCELLED: "true"}
    if phase is not None:
        obj["status"] = {"phase": phase, **status}
    return obj


@pytest.mark.parametrize(
    ("obj", "stage", "finished"),
    [
        (_job(), Stage.PENDING, False),
        (_job("Pending"), Stage.PENDING, False),
        (_job("Queued"), Stage.QUEUED, False),
        (_job("Suspended"), Stage.SUSPENDED, False),
        (_job("ProcessingData"), Stage.PROCESSING_DATA, False),
        (_job("Training"), Stage.TRAINING, False),
        (_job("Saving"), Stage.SAVING_MODEL, False),
        (_job("Succeeded"), Stage.SUCCEEDED, True),
        (_job("Failed"), Stage.FAILED, True),
        (_job("Training", cancelled=True), Stage.CANCELLED, True),
        (_job(None, cancelled=True), Stage.CANCELLED, True),
        # A job that succeeded before the cancel arrived did succeed.
        (_job("Succeeded", cancelled=True), Stage.SUCCEEDED, True),
    ],
    ids=[
        "new",
        "pending",
        "queued",
        "suspended",
        "processing",
        "training",
        "saving",
        "succeeded",
        "failed",
        "cancelled-running",
        "cancelled-unseen",
        "succeeded-then-cancelled",
    ],
)
def test_stage_and_finished(obj: dict[str, Any], stage: Stage, finished: bool) -> None:
    public = job_public(obj)
    assert public.stage is stage
    assert public.finished is finished


def test_a_failed_job_says_why_for_a_person() -> None:
    public = job_public(_job("Failed", message="older", conditions=[FAILED_CONDITION]))
    assert public.failure_reason == "DataInsufficient"
    assert public.failure_message == FAILED_CONDITION["message"]
    assert public.message == "older"  # the latest word stays what the status says


def test_a_failure_without_a_condition_falls_back_to_the_status_message() -> None:
    public = job_public(_job("Failed", message="Job lost"))
    assert (public.failure_reason, public.failure_message) == ("Unknown", "Job lost")


@pytest.mark.parametrize("phase", ["Training", "Succeeded", None], ids=str)
def test_only_a_failed_job_has_a_failure(phase: str | None) -> None:
    # A stale Failed condition of an earlier attempt is not a failure of the job.
    public = job_public(_job(phase, conditions=[FAILED_CONDITION]))
    assert public.failure_reason is None and public.failure_message is None


def test_the_json_carries_the_decisions_in_camel_case() -> None:
    body = job_public(_job("Failed", conditions=[FAILED_CONDITION])).model_dump(
        mode="json", by_alias=True
    )
    assert body["stage"] == "Failed"
    assert body["finished"] is True
    assert body["failureReason"] == "DataInsufficient"
    assert body["failureMessage"].startswith("Only 3.5 days")
