"""A runner that stopped leaves its pods Running without a process; the next runner fails
them (the node was lost), counts the failure, and the Job's retry runs to the end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from localrun_support import Cluster, job_body, terminated, unique, wait_for

from wattcast.devtools.emulator.fixtures import RunningEmulator
from wattcast.devtools.localrun import LocalRunner, RunnerSettings

SLOW_ONCE = """
import os, pathlib, time
mark = pathlib.Path(os.environ["WATTCAST_MODELS_DIR"]) / "mark"
first = not mark.exists()
mark.touch()
time.sleep(60 if first else 0)
"""


def test_pods_of_a_stopped_runner_are_failed_and_retried(
    fresh_emulator: Callable[..., RunningEmulator], tmp_path: Path
) -> None:
    server = fresh_emulator(with_trainingjob_crd=False)
    cluster = Cluster(server.kubeconfig_path)
    settings = RunnerSettings(backoff_base_seconds=0.1, poll_interval_seconds=0.05)
    name = unique("lost")
    first = LocalRunner(server.kubeconfig_path, tmp_path / "models", tmp_path / "w1", settings)
    with first:
        cluster.create_job("default", job_body(name, SLOW_ONCE, backoff_limit=1))
        wait_for((tmp_path / "models" / "mark").exists, what="the first run to begin")
    (pod,) = cluster.pods("default", name)
    assert pod["status"]["phase"] == "Running"  # as a lost node leaves it

    second = LocalRunner(server.kubeconfig_path, tmp_path / "models", tmp_path / "w2", settings)
    with second:
        cluster.wait_condition("default", name, "Complete")
    # Creation times have whole seconds: tell the two pods apart by their outcome.
    pods = cluster.pods("default", name)
    assert sorted(p["status"]["phase"] for p in pods) == ["Failed", "Succeeded"]
    lost = next(p for p in pods if p["status"]["phase"] == "Failed")
    assert lost["metadata"]["name"] == pod["metadata"]["name"]
    assert terminated(lost)["exitCode"] == 137
    assert "stopped" in terminated(lost)["message"]
    status = cluster.status("default", name)
    assert (status["failed"], status["succeeded"]) == (1, 1)
    cluster.close()
