"""Suspending a Job stops its process and removes its pods; resuming starts a new one;
deleting a Job (or its pod) stops the process; finished Jobs go after their TTL."""

from __future__ import annotations

from localrun_support import Cluster, job_body, pid_alive, unique, wait_for

from wattcast.devtools.localrun import LocalRunner

SLOW_ONCE = """
import os, pathlib, time
mark = pathlib.Path(os.environ["WATTCAST_MODELS_DIR"]) / os.environ["MARK"]
first = not mark.exists()
mark.touch()
time.sleep(60 if first else 0.1)
"""


def test_suspend_stops_the_process_and_resume_runs_again(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("susp")
    cluster.create_job(
        ns,
        job_body(name, SLOW_ONCE, env=[{"name": "MARK", "value": f"{name}.mark"}], backoff_limit=0),
    )
    proc = wait_for(lambda: runner.process_of(ns, name), what="the process")
    pid = proc.pid
    wait_for((runner.models_dir / f"{name}.mark").exists, what="the first run to begin")
    cluster.suspend(ns, name, True)
    suspended = cluster.wait_condition(ns, name, "Suspended")
    assert suspended["reason"] == "JobSuspended"
    wait_for(lambda: not pid_alive(pid), what="the process to stop")
    wait_for(lambda: not cluster.pods(ns, name), what="the pods to go")
    status = cluster.status(ns, name)
    assert status["active"] == 0
    assert "startTime" not in status
    assert status.get("failed", 0) == 0  # a suspension is not a failure

    cluster.suspend(ns, name, False)
    cluster.wait_condition(ns, name, "Complete")
    resumed = [c for c in cluster.status(ns, name)["conditions"] if c["type"] == "Suspended"]
    assert resumed[0]["status"] == "False"
    assert resumed[0]["reason"] == "JobResumed"


def test_deleting_the_job_stops_its_process(cluster: Cluster, runner: LocalRunner, ns: str) -> None:
    name = unique("del")
    cluster.create_job(ns, job_body(name, "import time; time.sleep(60)"))
    proc = wait_for(lambda: runner.process_of(ns, name), what="the process")
    pid = proc.pid
    cluster.delete_job(ns, name)
    wait_for(lambda: not pid_alive(pid), what="the process to stop")
    wait_for(lambda: not cluster.pods(ns, name), what="the pods to be collected")


def test_deleting_the_pod_stops_its_process_and_counts_a_failure(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("delpod")
    cluster.create_job(
        ns,
        job_body(name, SLOW_ONCE, env=[{"name": "MARK", "value": f"{name}.mark"}], backoff_limit=1),
    )
    proc = wait_for(lambda: runner.process_of(ns, name), what="the process")
    pid = proc.pid
    wait_for((runner.models_dir / f"{name}.mark").exists, what="the first run to begin")
    cluster.http.request("DELETE", f"/api/v1/namespaces/{ns}/pods/{proc.pod_name}")
    wait_for(lambda: not pid_alive(pid), what="the process to stop")
    cluster.wait_condition(ns, name, "Complete")
    assert cluster.status(ns, name)["failed"] == 1


def test_finished_job_is_deleted_after_its_ttl(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("ttl")
    cluster.create_job(ns, job_body(name, "pass", ttlSecondsAfterFinished=0))
    wait_for(lambda: cluster.job(ns, name) is None, what="the Job to be deleted")
