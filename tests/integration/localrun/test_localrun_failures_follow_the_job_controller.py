"""Failed pods are handled as the Job controller does: podFailurePolicy, backoffLimit with an
exponential backoff, activeDeadlineSeconds, disruptions, and unresolvable references."""

from __future__ import annotations

import time

from localrun_support import Cluster, job_body, pid_alive, terminated, unique, wait_for

from wattcast.devtools.localrun import LocalRunner

# Fails the first `n` times (a counter in the models claim), then succeeds.
FLAKY = """
import os, pathlib, sys
counter = pathlib.Path(os.environ["WATTCAST_MODELS_DIR"]) / os.environ["COUNTER"]
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
sys.exit(1 if n < int(os.environ["FAILURES"]) else 0)
"""


def test_permanent_exit_code_fails_the_job_at_once(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("perm")
    cluster.create_job(ns, job_body(name, "import sys; sys.exit(2)", backoff_limit=3))
    failed = cluster.wait_condition(ns, name, "Failed")
    assert failed["reason"] == "PodFailurePolicy"
    assert "exit code 2 matching FailJob rule at index 0" in failed["message"]
    target = cluster.condition(ns, name, "FailureTarget")
    assert target is not None and target["reason"] == "PodFailurePolicy"
    time.sleep(0.5)  # no retry comes
    assert len(cluster.pods(ns, name)) == 1
    assert cluster.status(ns, name)["failed"] == 1


def test_failures_are_retried_up_to_the_backoff_limit_with_growing_delays(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("retry")
    cluster.create_job(ns, job_body(name, "import sys; sys.exit(1)", backoff_limit=2))
    failed = cluster.wait_condition(ns, name, "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    pods = cluster.pods(ns, name)
    assert len(pods) == 3
    assert all(terminated(p)["exitCode"] == 1 for p in pods)
    assert cluster.status(ns, name)["failed"] == 3
    assert cluster.status(ns, name)["active"] == 0


def test_a_retry_can_succeed_after_doubling_delays(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("flaky")
    created = time.monotonic()
    cluster.create_job(
        ns,
        job_body(
            name,
            FLAKY,
            backoff_limit=3,
            env=[{"name": "COUNTER", "value": f"{name}.count"}, {"name": "FAILURES", "value": "2"}],
        ),
    )
    third_seen = wait_for(
        lambda: len(cluster.pods(ns, name)) == 3 and time.monotonic(), what="the third pod"
    )
    cluster.wait_condition(ns, name, "Complete")
    status = cluster.status(ns, name)
    assert (status["failed"], status["succeeded"]) == (2, 1)
    # Retries wait 0.2 s, then 0.4 s (base 0.2 s, doubled): the third pod cannot exist before.
    assert third_seen - created >= 0.6


def test_deadline_exceeded_stops_the_process_and_fails_the_job(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("late")
    cluster.create_job(
        ns, job_body(name, "import time; time.sleep(60)", backoff_limit=5, activeDeadlineSeconds=1)
    )
    proc = wait_for(lambda: runner.process_of(ns, name), what="the process")
    pid = proc.pid
    failed = cluster.wait_condition(ns, name, "Failed", timeout=10)
    assert failed["reason"] == "DeadlineExceeded"
    assert failed["message"] == "Job was active longer than specified deadline"
    wait_for(lambda: not pid_alive(pid), what="the process to end")
    (pod,) = cluster.pods(ns, name)
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["reason"] == "DeadlineExceeded"


def test_disrupted_pod_is_replaced_without_counting_a_failure(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("evict")
    cluster.create_job(
        ns,
        job_body(
            name,
            "import os, pathlib, time\n"
            "p = pathlib.Path(os.environ['WATTCAST_MODELS_DIR']) / os.environ['MARK']\n"
            "first = not p.exists(); p.touch()\n"
            "time.sleep(60 if first else 0)\n",
            backoff_limit=0,
            env=[{"name": "MARK", "value": f"{name}.mark"}],
        ),
    )
    proc = wait_for(lambda: runner.process_of(ns, name), what="the process")
    wait_for((runner.models_dir / f"{name}.mark").exists, what="the first run to begin")
    cluster.patch_pod_status(
        ns,
        proc.pod_name,
        {
            "conditions": [
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "reason": "EvictionByEvictionAPI",
                    "message": "Eviction API: evicting",
                }
            ]
        },
    )
    cluster.wait_condition(ns, name, "Complete")
    status = cluster.status(ns, name)
    assert status.get("failed", 0) == 0
    assert len(cluster.pods(ns, name)) == 2


def test_missing_secret_keeps_the_pod_waiting_until_it_exists(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("nosecret")
    cluster.create_job(
        ns,
        job_body(
            name,
            "import os, sys; sys.exit(0 if os.environ['INFLUX_TOKEN'] == 'late' else 1)",
            env=[
                {
                    "name": "INFLUX_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": f"{name}-token", "key": "token"}},
                }
            ],
        ),
    )

    def waiting() -> dict[str, object] | None:
        pods = cluster.pods(ns, name)
        statuses = pods[0]["status"].get("containerStatuses") if pods else None
        return (statuses or [{}])[0].get("state", {}).get("waiting")

    state = wait_for(waiting, what="CreateContainerConfigError")
    assert state["reason"] == "CreateContainerConfigError"
    assert f'secret "{name}-token" not found' in str(state["message"])
    assert cluster.status(ns, name)["active"] == 1
    cluster.create_secret(ns, f"{name}-token", {"token": "late"})
    cluster.wait_condition(ns, name, "Complete")


def test_missing_command_is_a_start_error(cluster: Cluster, runner: LocalRunner, ns: str) -> None:
    name = unique("nocmd")
    body = job_body(name, "")
    body["spec"]["template"]["spec"]["containers"][0]["command"] = ["wattcast-no-such-command"]
    cluster.create_job(ns, body)
    failed = cluster.wait_condition(ns, name, "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    (pod,) = cluster.pods(ns, name)
    assert terminated(pod)["reason"] == "StartError"
