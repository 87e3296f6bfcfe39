"""A trainer pod that cannot start (no token Secret, no model claim, an image that cannot be
pulled) is read as a blocker that names the missing thing, shown on the TrainingJob as the
Blocked condition; a pod on its normal way is not, and a pod that started clears it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from wattcast.operator import status as mapping
from wattcast.operator.blockers import Blocker, pod_blocker


def pod(
    waiting: dict[str, str] | None = None,
    conditions: list[dict[str, str]] | None = None,
    container: str = "trainer",
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": "Pending", "conditions": conditions or []}
    if waiting is not None:
        status["containerStatuses"] = [{"name": container, "state": {"waiting": waiting}}]
    return {"metadata": {"name": "p"}, "status": status}


SECRET = 'secret "influx-token" not found'
CLAIM = '0/1 nodes are available: persistentvolumeclaim "wattcast-models" not found.'
IMAGE = 'Failed to pull image "registry.invalid/trainer:0": no such host'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            pod({"reason": "CreateContainerConfigError", "message": SECRET}),
            Blocker("CreateContainerConfigError", SECRET),
        ),
        (
            pod(
                conditions=[
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": CLAIM,
                    }
                ]
            ),
            Blocker("Unschedulable", CLAIM),
        ),
        (pod({"reason": "ErrImagePull", "message": IMAGE}), Blocker("ErrImagePull", IMAGE)),
        (pod({"reason": "ImagePullBackOff", "message": "x"}), Blocker("ImagePullBackOff", "x")),
        (pod({"reason": "InvalidImageName", "message": "y"}), Blocker("InvalidImageName", "y")),
        (
            pod({"reason": "ContainerCreating", "message": "Unable to attach or mount volumes"}),
            Blocker("ContainerCreating", "Unable to attach or mount volumes"),
        ),
    ],
    ids=["no-secret", "no-claim", "err-image-pull", "pull-back-off", "invalid-image", "mount"],
)
def test_a_stuck_pod_names_what_is_missing(body: dict[str, Any], expected: Blocker) -> None:
    assert pod_blocker(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        pod(),  # just created: no status yet
        pod({"reason": "ContainerCreating"}),  # a normal step, no complaint
        pod({"reason": "CrashLoopBackOff", "message": "back-off"}),  # it ran: the Job counts it
        pod({"reason": "ErrImagePull", "message": "z"}, container="sidecar"),  # not the trainer
        pod(conditions=[{"type": "PodScheduled", "status": "True", "reason": ""}]),
        {"metadata": {"name": "p"}, "status": {"phase": "Running"}},
    ],
    ids=["new", "creating", "crash-loop", "other-container", "scheduled", "running"],
)
def test_a_pod_on_its_way_is_not_blocked(body: dict[str, Any]) -> None:
    assert pod_blocker(body) is None


NOW = datetime(2026, 3, 1, tzinfo=UTC)


def blocked_condition(status: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c["type"] == "Blocked"), None)


def test_a_blocker_becomes_the_blocked_condition_and_the_message() -> None:
    change = mapping.pod_blocked(
        {"phase": "Pending"}, Blocker("CreateContainerConfigError", SECRET), now=NOW
    )
    message = f"the trainer pod cannot start: CreateContainerConfigError: {SECRET}"
    assert change.patch["message"] == message
    condition = blocked_condition(change.patch)
    assert condition is not None
    assert (condition["status"], condition["reason"]) == ("True", "CreateContainerConfigError")
    assert condition["message"] == message
    assert "phase" not in change.patch  # Kubernetes retries: the TrainingJob stays Pending


def test_a_started_pod_clears_the_condition_and_our_message_only() -> None:
    blocked = mapping.pod_blocked({"phase": "Pending"}, Blocker("ErrImagePull", IMAGE), now=NOW)
    status = {"phase": "Pending", **blocked.patch}
    cleared = mapping.pod_blocked(status, None, now=NOW)
    condition = blocked_condition(cleared.patch)
    assert condition is not None
    assert (condition["status"], condition["reason"]) == ("False", "PodStarted")
    assert cleared.patch["message"] == "the trainer pod started"
    # The trainer's own message is never overwritten by the clearing.
    trainer = mapping.pod_blocked({**status, "message": "loading data"}, None, now=NOW)
    assert "message" not in trainer.patch


def test_nothing_to_write_for_a_pod_that_was_never_blocked_or_a_finished_trainingjob() -> None:
    assert mapping.pod_blocked({"phase": "Pending"}, None, now=NOW).patch == {}
    failed = {"phase": "Failed", "message": "Job was active longer than specified deadline"}
    assert mapping.pod_blocked(failed, Blocker("ErrImagePull", IMAGE), now=NOW).patch == {}
