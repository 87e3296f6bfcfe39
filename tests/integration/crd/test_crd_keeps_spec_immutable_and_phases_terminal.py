"""On the real kube-apiserver, the CRD's transition rules hold: a TrainingJob's spec cannot
change after creation except `suspend`, and a finished phase stays finished. The status is
written only through the status subresource, and is schema-checked there too."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from crd_support import refused
from testkit import TrainingJobs, tj_body

from wattcast.crd.trainingjob import FINISHED_STATUS_RULES

IMMUTABLE = (
    'TrainingJob.wattcast.dev "tj" is invalid: spec: Forbidden: spec is immutable after '
    "creation, except spec.suspend"
)
TERMINAL = (
    'TrainingJob.wattcast.dev "tj" is invalid: status: Forbidden: '
    f"{FINISHED_STATUS_RULES[0]['message']}"  # type: ignore[index]
)


@pytest.fixture
def created(tjs: TrainingJobs) -> dict[str, Any]:
    return tjs.create(tj_body("tj"))


@pytest.mark.parametrize(
    "change",
    [
        {"meterId": "meter2"},
        {"meterType": "water"},
        {"start": "2024-02-01T00:00:00Z"},
        {"end": "2024-02-15T00:00:00Z"},
        {"model": {"epochs": 3}},
        {"source": {"name": "archive"}},
        {"resources": {"limits": {"cpu": "2"}}},
        {"backoffLimit": 1},
        {"activeDeadlineSeconds": 60},
        {"ttlSecondsAfterFinished": 60},
        {"queueName": "fast"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_spec_change_after_creation_is_forbidden(
    tjs: TrainingJobs, created: dict[str, Any], change: dict[str, Any]
) -> None:
    status = refused(tjs.patch, "tj", {"spec": change})
    assert status["message"] == IMMUTABLE
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueForbidden",
            "field": "spec",
            "message": "Forbidden: spec is immutable after creation, except spec.suspend",
        }
    ]
    assert tjs.get("tj")["spec"] == created["spec"]


def test_a_replace_that_changes_the_spec_is_forbidden(
    tjs: TrainingJobs, created: dict[str, Any]
) -> None:
    body = copy.deepcopy(created)
    body["spec"]["meterId"] = "meter2"
    assert refused(tjs.replace, "tj", body)["message"] == IMMUTABLE


def test_suspend_may_change_after_creation(tjs: TrainingJobs, created: dict[str, Any]) -> None:
    assert created["spec"]["suspend"] is False  # the schema's default
    assert tjs.patch("tj", {"spec": {"suspend": True}})["spec"]["suspend"] is True
    resumed = tjs.patch("tj", {"spec": {"suspend": False}})
    assert resumed["spec"]["suspend"] is False
    assert resumed["metadata"]["generation"] == 3


@pytest.mark.parametrize("terminal", ["Succeeded", "Failed"])
@pytest.mark.parametrize("new_phase", ["Pending", "Queued", "Training", "Succeeded", "Failed"])
def test_a_terminal_phase_stays_terminal(
    tjs: TrainingJobs, created: dict[str, Any], terminal: str, new_phase: str
) -> None:
    tjs.patch_status("tj", {"phase": terminal, "progress": 100})
    if new_phase == terminal:
        assert tjs.patch_status("tj", {"phase": new_phase})["status"]["phase"] == terminal
    else:
        assert refused(tjs.patch_status, "tj", {"phase": new_phase})["message"] == TERMINAL
    assert tjs.get("tj")["status"]["phase"] == terminal


@pytest.mark.parametrize("terminal", ["Succeeded", "Failed"])
def test_a_terminal_phase_cannot_be_removed(
    tjs: TrainingJobs, created: dict[str, Any], terminal: str
) -> None:
    tjs.patch_status("tj", {"phase": terminal})
    assert refused(tjs.patch_status, "tj", {"phase": None})["message"] == TERMINAL


def test_the_rest_of_a_finished_status_may_still_change(
    tjs: TrainingJobs, created: dict[str, Any]
) -> None:
    tjs.patch_status("tj", {"phase": "Failed", "message": "BackoffLimitExceeded"})
    later = tjs.patch_status("tj", {"message": "the Job failed", "attempts": 4})
    assert later["status"] == {"phase": "Failed", "message": "the Job failed", "attempts": 4}


def test_the_phase_moves_freely_before_it_is_terminal(
    tjs: TrainingJobs, created: dict[str, Any]
) -> None:
    for phase in ["Pending", "Queued", "Suspended", "Pending", "Training", "Saving", "Failed"]:
        assert tjs.patch_status("tj", {"phase": phase})["status"]["phase"] == phase


def test_bad_status_values_are_refused(tjs: TrainingJobs, created: dict[str, Any]) -> None:
    status = refused(tjs.patch_status, "tj", {"phase": "Exploded", "progress": 101})
    # Both causes, in whichever order the server's schema walk gives them.
    causes = [c for c in status["details"]["causes"] if c["field"] != "<nil>"]
    assert sorted(causes, key=lambda c: c["field"]) == [
        {
            "reason": "FieldValueNotSupported",
            "field": "status.phase",
            "message": 'Unsupported value: "Exploded": supported values: "Pending", "Queued", '
            '"Suspended", "ProcessingData", "Training", "Saving", "Succeeded", "Failed"',
        },
        {
            "reason": "FieldValueInvalid",
            "field": "status.progress",
            "message": "Invalid value: 101: progress in body should be less than or equal to 100",
        },
    ]
    assert "status" not in tjs.get("tj")


def test_two_conditions_of_one_type_are_refused(tjs: TrainingJobs, created: dict[str, Any]) -> None:
    condition = {
        "status": "True",
        "reason": "PodRunning",
        "lastTransitionTime": "2024-01-01T00:00:00Z",
    }
    conditions = [
        {"type": "Running", **condition},
        {"type": "Running", **condition, "status": "False"},
    ]
    status = refused(tjs.patch_status, "tj", {"conditions": conditions})
    assert status["message"] == (
        'TrainingJob.wattcast.dev "tj" is invalid: status.conditions[1]: Duplicate value: '
        '{"type":"Running"}'
    )


def test_status_is_written_only_through_the_status_subresource(
    tjs: TrainingJobs, created: dict[str, Any]
) -> None:
    ignored = tjs.patch("tj", {"status": {"phase": "Succeeded"}})
    assert "status" not in ignored
    both = tjs.objects.patch_namespaced_custom_object_status(
        "wattcast.dev",
        "v1alpha1",
        tjs.namespace,
        "trainingjobs",
        "tj",
        {"spec": {"suspend": True}, "status": {"phase": "Pending"}},
    )
    assert both["status"] == {"phase": "Pending"}
    assert both["spec"]["suspend"] is False
    assert both["metadata"]["generation"] == 1
