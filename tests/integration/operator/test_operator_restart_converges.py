"""kill -9 of the operator in the middle of a burst, then a restart: every TrainingJob ends
with exactly one Job and the right phase, including changes made while it was down."""

from __future__ import annotations

import time
from collections.abc import Callable

from operatorkit import K8s, OperatorProcess, condition, succeeded_message, wait_for

from wattcast.devtools.emulator.fixtures import RunningEmulator
from wattcast.devtools.jobcontroller import JobController

BURST = 60


def test_kill_mid_burst_and_restart_gives_exactly_one_job_each(
    fresh_emulator: Callable[..., RunningEmulator],
    start_operator: Callable[..., OperatorProcess],
) -> None:
    emulator = fresh_emulator()
    k8s = K8s(emulator.kubeconfig_path)
    try:
        first = start_operator(emulator)
        for i in range(BURST):
            k8s.create_tj("default", f"tj-burst-{i:03d}")
            if i == BURST // 3:
                # Let the operator be busy with the first third, then kill it mid-stream.
                wait_for(lambda: k8s.jobs("default"), what="the first Jobs")
                first.kill()
        assert len(k8s.jobs("default")) < BURST, "the kill came too late to test anything"
        start_operator(emulator)

        def converged() -> bool:
            return all(
                k8s.status("default", f"tj-burst-{i:03d}").get("jobName") for i in range(BURST)
            )

        wait_for(converged, timeout=60, what="every TrainingJob to record its Job")
        jobs = k8s.jobs("default")
        names = sorted(j["metadata"]["name"] for j in jobs)
        assert names == [f"tj-burst-{i:03d}" for i in range(BURST)]  # one each, no extra
        for i in range(BURST):
            status = k8s.status("default", f"tj-burst-{i:03d}")
            assert status["phase"] == "Pending"
            assert condition(status, "JobCreated")["status"] == "True"
    finally:
        k8s.close()


def test_changes_while_the_operator_is_down_are_picked_up(
    fresh_emulator: Callable[..., RunningEmulator],
    start_operator: Callable[..., OperatorProcess],
) -> None:
    emulator = fresh_emulator()
    k8s = K8s(emulator.kubeconfig_path)
    controller = JobController(emulator.kubeconfig_path)
    try:
        first = start_operator(emulator)
        names = ("tj-down-ok", "tj-down-lost", "tj-down-gone", "tj-down-paused")
        for name in names:
            k8s.create_tj("default", name)
        for name in names:
            wait_for(lambda n=name: k8s.status("default", n).get("jobName"), what="jobName")
        first.kill()

        # While it is down: one Job completes, one vanishes, one TrainingJob is deleted, one
        # is suspended.
        controller.start_pod("default", "tj-down-ok")
        controller.succeed("default", "tj-down-ok", termination=succeeded_message())
        k8s.delete_job("default", "tj-down-lost")
        k8s.delete_tj("default", "tj-down-gone")  # no finalizer: gone at once
        assert k8s.tj("default", "tj-down-gone") is None
        wait_for(lambda: k8s.job("default", "tj-down-gone") is None, what="the cascade")
        k8s.patch_tj("default", "tj-down-paused", {"spec": {"suspend": True}})
        time.sleep(0.2)

        start_operator(emulator)
        status = k8s.wait_phase("default", "tj-down-ok", "Succeeded")
        assert status["result"] == succeeded_message()["result"]
        status = k8s.wait_phase("default", "tj-down-lost", "Failed")
        assert condition(status, "Failed")["reason"] == "JobLost"
        assert k8s.job("default", "tj-down-lost") is None
        k8s.wait_phase("default", "tj-down-paused", "Suspended")
        paused = k8s.job("default", "tj-down-paused")
        assert paused is not None
        assert paused["spec"]["suspend"] is True
    finally:
        controller.stop()
        k8s.close()
