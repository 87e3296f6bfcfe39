"""Kueue's Workload conditions → the reason and message a Queued TrainingJob shows
(operator/admission.py), and the status mapping that writes them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from wattcast.crd import find_condition
from wattcast.operator import status as mapping
from wattcast.operator.admission import Admission, owner_job, pending_admission
from wattcast.operator.status import observe_job

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NO_QUOTA = (
    "couldn't assign flavors to pod set main: insufficient quota for cpu in flavor default, "
    "request > maximum capacity (100m > 0)"
)
PREEMPTED = "Preempted to accommodate a workload (UID: 1) due to prioritization in the ClusterQueue"


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def workload(
    *conditions: dict[str, str], owners: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {
            "ownerReferences": owners
            if owners is not None
            else [{"apiVersion": "batch/v1", "kind": "Job", "name": "tj-1", "controller": True}]
        },
        "status": {"conditions": list(conditions)},
    }


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        # No quota fits: QuotaReserved False says why.
        ([cond("QuotaReserved", "False", "Pending", NO_QUOTA)], Admission("Pending", NO_QUOTA)),
        # Preempted: the eviction is the news, although quota is missing again too.
        (
            [
                cond("QuotaReserved", "False", "Pending", NO_QUOTA),
                cond("Admitted", "False", "NoReservation", "The workload has no reservation"),
                cond("Evicted", "True", "Preempted", PREEMPTED),
            ],
            Admission("Preempted", PREEMPTED),
        ),
        # Quota reserved, admission checks pending.
        (
            [
                cond("QuotaReserved", "True", "QuotaReserved", "Quota reserved in ClusterQueue"),
                cond("Admitted", "False", "AdmissionChecksPending", "waiting for checks"),
            ],
            Admission("AdmissionChecksPending", "waiting for checks"),
        ),
        # Admitted (again, after an eviction that is over): nothing to wait for.
        (
            [
                cond("QuotaReserved", "True", "QuotaReserved", "Quota reserved"),
                cond("Admitted", "True", "Admitted", "The workload is admitted"),
                cond("Evicted", "False", "QuotaReserved", "Previously: preempted"),
            ],
            None,
        ),
        # Kueue has not said anything yet, or says nothing worth showing.
        ([], None),
        ([cond("QuotaReserved", "False", "Pending")], None),
    ],
)
def test_pending_admission_reads_the_wait(
    conditions: list[dict[str, str]], expected: Admission | None
) -> None:
    assert pending_admission(workload(*conditions)) == expected


def test_pending_admission_of_a_workload_without_status() -> None:
    assert pending_admission({"metadata": {}}) is None


def test_owner_job_is_the_batch_job_only() -> None:
    assert owner_job(workload()) == "tj-1"
    assert owner_job(workload(owners=[])) is None
    other = {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "name": "js"}
    assert owner_job(workload(owners=[other])) is None


QUEUED_JOB = {
    "metadata": {"name": "tj-1", "labels": {"kueue.x-k8s.io/queue-name": "q"}},
    "spec": {"suspend": True},
    "status": {},
}


def queued(
    admission: Admission | None, current: dict[str, Any] | None = None
) -> mapping.StatusChange:
    return mapping.from_job(
        current or {"phase": "Queued", "jobName": "tj-1"},
        observe_job(QUEUED_JOB),
        suspend=False,
        cancelled=False,
        termination=None,
        now=NOW,
        admission=admission,
    )


def test_queued_trainingjob_shows_kueues_reason_and_message() -> None:
    change = queued(Admission("Pending", NO_QUOTA))
    assert change.patch["message"] == NO_QUOTA
    condition = find_condition(change.patch["conditions"], "Queued")
    assert condition is not None
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "True",
        "Pending",
        NO_QUOTA,
    )
    # Written once: the same word again changes nothing.
    again = queued(
        Admission("Pending", NO_QUOTA), {"phase": "Queued", "jobName": "tj-1", **change.patch}
    )
    assert again.patch == {}


def test_queued_trainingjob_without_kueues_word_waits_for_admission() -> None:
    change = queued(None)
    condition = find_condition(change.patch["conditions"], "Queued")
    assert condition is not None
    assert condition["reason"] == "WaitingForAdmission"
    assert change.patch["message"] == "waiting for Kueue to admit the Job"


def test_admission_replaces_kueues_message() -> None:
    current = {"phase": "Queued", "jobName": "tj-1", **queued(Admission("Pending", NO_QUOTA)).patch}
    admitted_job = {**QUEUED_JOB, "spec": {"suspend": False}}
    change = mapping.from_job(
        current,
        observe_job(admitted_job),
        suspend=False,
        cancelled=False,
        termination=None,
        now=NOW,
    )
    assert change.patch["phase"] == "Pending"
    assert change.patch["message"] == "Kueue admitted the Job"
    condition = find_condition(change.patch["conditions"], "Queued")
    assert condition is not None
    assert (condition["status"], condition["reason"]) == ("False", "Admitted")
