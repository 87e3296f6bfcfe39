"""A Job's pod runs as a local process with the pod's environment, folders and outcome."""

from __future__ import annotations

import json
import time

import pytest
from localrun_support import Cluster, job_body, terminated, unique, wait_for

from wattcast.devtools.localrun import LocalRunner

SUCCEEDING = """
import json, os, pathlib
root = pathlib.Path(os.environ["WATTCAST_MODELS_DIR"])
(root / os.environ["OUT"]).write_text(json.dumps({
    "token": os.environ.get("INFLUX_TOKEN"),
    "kubeconfig": os.environ.get("KUBECONFIG"),
    "tmpdir": os.environ.get("TMPDIR"),
    "node": os.environ.get("LOCALRUN_NODE_SETTING"),
    "leaked": os.environ.get("LOCALRUN_TEST_LEAK"),
    "pod": os.environ.get("POD_NAME"),
}))
pathlib.Path(os.environ["WATTCAST_TERMINATION_LOG"]).write_text('{"phase": "Succeeded"}')
print("trained")
"""


def test_pod_runs_with_resolved_env_and_local_folders(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("ok")
    out = f"{name}.json"
    cluster.create_secret(ns, "influx", {"token": "reader:s3cret"})
    cluster.create_job(
        ns,
        job_body(
            name,
            SUCCEEDING,
            env=[
                {"name": "OUT", "value": out},
                {
                    "name": "INFLUX_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": "influx", "key": "token"}},
                },
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
        ),
    )
    complete = cluster.wait_condition(ns, name, "Complete")
    assert complete["reason"] == "CompletionsReached"
    status = cluster.status(ns, name)
    assert status["succeeded"] == 1
    assert status["active"] == 0
    assert status["startTime"] <= status["completionTime"]
    assert cluster.condition(ns, name, "SuccessCriteriaMet") is not None

    (pod,) = cluster.pods(ns, name)
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["metadata"]["labels"]["batch.kubernetes.io/job-name"] == name
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "wattcast"
    owner = pod["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Job", name, True)
    state = terminated(pod)
    assert state["exitCode"] == 0
    assert json.loads(state["message"]) == {"phase": "Succeeded"}

    seen = json.loads((runner.models_dir / out).read_text())
    assert seen["token"] == "reader:s3cret"
    assert seen["kubeconfig"] == str(runner.kubeconfig)
    assert seen["node"] == "on"
    assert seen["leaked"] is None
    assert seen["pod"] == pod["metadata"]["name"]
    assert seen["tmpdir"].startswith(str(runner.workdir))
    assert "trained" in runner.pod_log(ns, pod["metadata"]["name"])


def test_runner_environment_does_not_leak_into_pods(
    cluster: Cluster, runner: LocalRunner, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A container starts from its own environment, not the node's.
    monkeypatch.setenv("LOCALRUN_TEST_LEAK", "yes")
    name = unique("leak")
    cluster.create_job(
        ns, job_body(name, SUCCEEDING, env=[{"name": "OUT", "value": f"{name}.json"}])
    )
    cluster.wait_condition(ns, name, "Complete")
    assert json.loads((runner.models_dir / f"{name}.json").read_text())["leaked"] is None


def test_node_capacity_keeps_extra_pods_pending(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    names = [unique(f"cap{i}") for i in range(4)]
    for name in names:
        cluster.create_job(ns, job_body(name, "import time; time.sleep(0.6)"))
    most = 0
    pending_seen = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        most = max(most, len([p for p in runner.processes() if p.namespace == ns]))
        for name in names:
            for pod in cluster.pods(ns, name):
                scheduled = [
                    c for c in pod["status"].get("conditions") or [] if c["type"] == "PodScheduled"
                ]
                if pod["status"].get("phase") == "Pending" and scheduled:
                    assert scheduled[0]["status"] == "False"
                    assert scheduled[0]["reason"] == "Unschedulable"
                    pending_seen = True
        if all(cluster.condition(ns, n, "Complete") for n in names):
            break
        time.sleep(0.05)
    assert all(cluster.condition(ns, n, "Complete") for n in names)
    assert most == 2
    assert pending_seen
    # A pending pod counts as active in its Job, as on a cluster.
    assert all(cluster.status(ns, n)["succeeded"] == 1 for n in names)


def test_log_tail_is_the_message_when_a_pod_fails_without_one(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    name = unique("tail")
    cluster.create_job(ns, job_body(name, "import sys; print('boom at step 3'); sys.exit(1)"))
    cluster.wait_condition(ns, name, "Failed")
    (pod,) = cluster.pods(ns, name)
    state = terminated(pod)
    assert state["exitCode"] == 1
    assert state["reason"] == "Error"
    assert "boom at step 3" in state["message"]
    wait_for(lambda: not runner.process_of(ns, name), what="the process to be gone")


def test_waiting_pods_start_first_come_first_served(
    cluster: Cluster, runner: LocalRunner, ns: str
) -> None:
    # Five Jobs within the same second: creation timestamps tie, the order must not. (The
    # runner orders what it sees at each poll; 0.15 s apart, each lands in a later poll.)
    names = [unique("fifo") for _ in range(5)]  # random names: no order by name
    code = (
        "import os, pathlib, time\n"
        "log = pathlib.Path(os.environ['WATTCAST_MODELS_DIR']) / os.environ['LOG']\n"
        "with open(log, 'a') as f:\n"
        "    f.write(os.environ['ME'] + '\\n')\n"
        "time.sleep(float(os.environ['SLEEP']))\n"
    )
    log = f"{ns}.order"
    for i, name in enumerate(names):
        # Different lengths free the slots one at a time, 0.3 s apart.
        env = [
            {"name": "LOG", "value": log},
            {"name": "ME", "value": name},
            {"name": "SLEEP", "value": str(0.3 * (i + 1))},
        ]
        cluster.create_job(ns, job_body(name, code, env=env))
        time.sleep(0.15)
    for name in names:
        cluster.wait_condition(ns, name, "Complete")
    started = (runner.models_dir / log).read_text().split()
    # Two slots: the first two start together (either order), the rest in submission order.
    assert sorted(started[:2]) == sorted(names[:2])
    assert started[2:] == names[2:]
