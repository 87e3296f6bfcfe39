"""Retention decides from the TrainingJob's status alone: which objects it applies to and when
each is due, so a restarted operator resumes the count where the API server's record puts it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import pytest
from kubernetes import client

from wattcast.operator import retention
from wattcast.operator.kubeclient import KubeClient

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def finished(phase: str = "Succeeded", ago_s: float | None = 0.0) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if ago_s is not None:
        status["completionTime"] = (NOW - timedelta(seconds=ago_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return status


@pytest.mark.parametrize(
    ("status", "seconds", "expected"),
    [
        (finished("Succeeded"), 60, True),
        (finished("Failed"), 60, True),
        (finished("Succeeded"), 0, False),  # 0 keeps finished TrainingJobs
        ({"phase": "Training"}, 60, False),
        ({"phase": "Suspended"}, 60, False),
        ({}, 60, False),
    ],
    ids=["succeeded", "failed", "retention-off", "running", "suspended", "no-status"],
)
def test_retention_applies_to_finished_trainingjobs_only(
    status: dict[str, Any], seconds: int, expected: bool
) -> None:
    assert retention.applies(status, seconds) is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (finished(ago_s=0), 60.0),
        (finished(ago_s=45), 15.0),
        (finished(ago_s=60), 0.0),
        (finished(ago_s=3600), 0.0),  # overdue (the operator was down): at once
        (finished(ago_s=None), 60.0),  # no completionTime: a full term from now
    ],
    ids=["just-finished", "partly-kept", "due", "overdue", "no-completion-time"],
)
def test_seconds_left_count_from_completion_time(status: dict[str, Any], expected: float) -> None:
    assert retention.seconds_left(status, 60, NOW) == pytest.approx(expected)


async def test_an_early_run_is_retried_when_due_and_deletes_nothing() -> None:
    # A client pointing nowhere: any request would fail with a connection error, not this.
    kube = KubeClient(client.ApiClient(client.Configuration(host="http://127.0.0.1:9")))
    status = {"phase": "Succeeded", "completionTime": "2999-01-01T00:00:00Z"}
    with pytest.raises(kopf.TemporaryError) as raised:
        await retention.expire(kube, "ns", "tj", "u1", status, 60, logging.getLogger("test"))
    assert raised.value.delay is not None and raised.value.delay > 60
