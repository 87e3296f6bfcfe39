"""With WATTCAST_TRAININGJOB_RETENTION_SECONDS set, a finished TrainingJob is deleted that
long after it finished; unfinished ones stay."""

from __future__ import annotations

from collections.abc import Callable

from operatorkit import K8s, OperatorProcess, wait_for

from wattcast.devtools.emulator.fixtures import RunningEmulator
from wattcast.devtools.jobcontroller import JobController


def test_finished_trainingjobs_are_deleted_after_retention(
    fresh_emulator: Callable[..., RunningEmulator],
    start_operator: Callable[..., OperatorProcess],
) -> None:
    emulator = fresh_emulator()
    k8s = K8s(emulator.kubeconfig_path)
    controller = JobController(emulator.kubeconfig_path).start()
    try:
        start_operator(emulator, WATTCAST_TRAININGJOB_RETENTION_SECONDS="2")
        k8s.create_tj("default", "tj-old")
        k8s.create_tj("default", "tj-busy")
        wait_for(lambda: k8s.pods("default") and len(k8s.pods("default")) == 2, what="pods")
        controller.fail("default", "tj-old", reason="DeadlineExceeded")
        k8s.wait_phase("default", "tj-old", "Failed")
        wait_for(lambda: k8s.tj("default", "tj-old") is None, timeout=10, what="retention")
        wait_for(lambda: k8s.job("default", "tj-old") is None, what="its Job to follow")
        assert k8s.tj("default", "tj-busy") is not None
    finally:
        controller.stop()
        k8s.close()
