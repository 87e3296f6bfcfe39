"""Failure drills: each failure ends in FAILURE with the reason a person needs, as fast as
the cause allows, and leaves no partial model.

The three drills run at the same time (their pods queue for the kubelet's 2 slots): a meter
with no data, an InfluxDB that is down, and a deadline too short for any training.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from e2e_support import E2E, condition, unique

from wattcast.devtools.stack import OFFLINE_SOURCE


@dataclass
class Drills:
    no_data: str
    no_data_meter: str
    influx_down: str
    influx_down_meter: str
    deadline: str
    started: float


@pytest.fixture(scope="module")
def drills(e2e: E2E) -> Iterator[Drills]:
    started = time.monotonic()
    no_data_meter = unique("nodata")  # nothing written for it
    down_meter = unique("down")
    e2e.load_meter(down_meter)  # the data exists, but the source it is read from is down
    deadline_meter = unique("late")
    e2e.load_meter(deadline_meter)
    yield Drills(
        no_data=e2e.create(no_data_meter, backoffLimit=3),
        no_data_meter=no_data_meter,
        influx_down=e2e.create(down_meter, backoffLimit=1, source={"name": OFFLINE_SOURCE}),
        influx_down_meter=down_meter,
        deadline=e2e.create(deadline_meter, backoffLimit=3, activeDeadlineSeconds=2),
        started=started,
    )


def test_meter_without_data_fails_fast_without_retries(e2e: E2E, drills: Drills) -> None:
    final = e2e.wait_final(drills.no_data, timeout=120)
    assert final["taskStatus"] == "FAILURE"
    assert final["message"].startswith("NoData:"), final["message"]
    assert "no consumption data" in final["message"]
    failed = condition(final, "Failed")
    assert failed is not None and failed["reason"] == "PodFailurePolicy"
    assert final["status"]["attempts"] == 1
    assert len(e2e.pods_of(drills.no_data)) == 1
    seed = e2e.seed_status(drills.no_data)
    assert seed["status"] == "FAILURE"
    assert seed["result"]["status"] == "failure"
    assert seed["result"]["message"].startswith("NoData:")
    # No retries and no TensorFlow: the data check comes first.
    assert time.monotonic() - drills.started < 90


def test_influxdb_down_is_retried_then_fails_with_the_reason(e2e: E2E, drills: Drills) -> None:
    final = e2e.wait_final(drills.influx_down, timeout=180)
    assert final["taskStatus"] == "FAILURE"
    failed = condition(final, "Failed")
    assert failed is not None and failed["reason"] == "BackoffLimitExceeded"
    assert "InfluxUnavailable" in final["message"], final["message"]
    assert final["status"]["attempts"] == 2  # backoffLimit 1: one retry
    assert len(e2e.pods_of(drills.influx_down)) == 2
    assert not (e2e.stack.models_dir / "electricity" / drills.influx_down_meter).exists()
    seed = e2e.seed_status(drills.influx_down)
    assert seed["result"]["details"]["reason"] == "BackoffLimitExceeded"
    assert seed["result"]["details"]["attempts"] == 2


def test_deadline_exceeded_stops_the_run(e2e: E2E, drills: Drills) -> None:
    final = e2e.wait_final(drills.deadline, timeout=120)
    assert final["taskStatus"] == "FAILURE"
    failed = condition(final, "Failed")
    assert failed is not None and failed["reason"] == "DeadlineExceeded"
    (job,) = e2e.jobs_of(drills.deadline)
    job_failed = [c for c in job["status"]["conditions"] if c["type"] == "Failed"]
    assert job_failed[0]["reason"] == "DeadlineExceeded"
    assert e2e.running_pid(drills.deadline) is None
    assert all(p["status"]["phase"] == "Failed" for p in e2e.pods_of(drills.deadline))
