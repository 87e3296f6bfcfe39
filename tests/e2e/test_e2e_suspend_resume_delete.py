"""Suspend stops the trainer and resume finishes the job; cancel is for good; deleting a
TrainingJob removes its Job and stops its process."""

from __future__ import annotations

import os

from e2e_support import E2E, condition, unique
from testkit import wait_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _running_pid(e2e: E2E, name: str) -> int:
    pid = wait_for(f"{name}'s process", lambda: e2e.running_pid(name), 120, logs=e2e.stack.logs)
    return int(pid)


def test_suspend_then_resume_ends_in_success(e2e: E2E) -> None:
    meter = unique("susp")
    e2e.load_meter(meter)
    name = e2e.create(meter)
    # Suspended as soon as its trainer runs: seconds before it could finish (Python and
    # TensorFlow start-up alone take longer), so the drill always hits a running pod.
    pid = _running_pid(e2e, name)
    suspended = e2e.act(name, "suspend")
    assert suspended["taskStatus"] != "SUCCESS"
    e2e.wait_status(name, {"SUSPENDED"}, timeout=60)
    wait_for("the trainer to stop", lambda: not _alive(pid), 30, logs=e2e.stack.logs)
    wait_for("the pods to go", lambda: not e2e.pods_of(name), 30, logs=e2e.stack.logs)
    job = e2e.get(name)
    assert condition(job, "Suspended") is not None
    assert len(e2e.jobs_of(name)) == 1  # the Job stays

    e2e.act(name, "resume")
    final = e2e.wait_success(name)
    assert final["status"]["result"]["modelPath"]
    assert len(e2e.jobs_of(name)) == 1


def test_cancel_is_revoked_and_cannot_resume(e2e: E2E) -> None:
    meter = unique("cancel")
    e2e.load_meter(meter)
    name = e2e.create(meter)
    pid = _running_pid(e2e, name)
    cancelled = e2e.act(name, "cancel")
    assert cancelled["taskStatus"] == "REVOKED"
    wait_for("the trainer to stop", lambda: not _alive(pid), 30, logs=e2e.stack.logs)
    assert e2e.seed_status(name)["status"] == "REVOKED"
    refused = e2e.http.post(f"/v1/trainingjobs/{name}/resume")
    assert refused.status_code == 409, refused.text


def test_deleting_a_trainingjob_removes_its_job_and_stops_its_process(e2e: E2E) -> None:
    meter = unique("delete")
    e2e.load_meter(meter)
    name = e2e.create(meter)
    pid = _running_pid(e2e, name)
    assert len(e2e.jobs_of(name)) == 1
    response = e2e.http.delete(f"/v1/trainingjobs/{name}")
    assert response.status_code == 204, response.text
    wait_for("the trainer to stop", lambda: not _alive(pid), 30, logs=e2e.stack.logs)
    wait_for("the Job to go", lambda: not e2e.jobs_of(name), 30, logs=e2e.stack.logs)
    wait_for("the pods to go", lambda: not e2e.pods_of(name), 30, logs=e2e.stack.logs)
    assert e2e.trainingjob(name) is None
