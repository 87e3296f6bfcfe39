"""The real Job controller's decisions, with pods run by the process kubelet."""

from __future__ import annotations

from kubeletkit import Pods
from testkit import wait_for


def test_backoff_limit_gives_a_second_pod_then_the_job_fails(pods: Pods) -> None:
    pods.job("retry", Pods.spec("exit 1"), backoffLimit=1)
    condition = pods.job_condition("retry", "Failed")
    assert condition["reason"] == "BackoffLimitExceeded"
    ran = pods.list("job-name=retry")
    assert len(ran) == 2
    assert {p["status"]["phase"] for p in ran} == {"Failed"}
    assert {
        p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] for p in ran
    } == {1}


def test_pod_failure_policy_fails_the_job_on_exit_code_2(pods: Pods) -> None:
    policy = {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {"containerName": "main", "operator": "In", "values": [2]},
            },
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
        ]
    }
    pods.job("permanent", Pods.spec("exit 2"), backoffLimit=3, podFailurePolicy=policy)
    condition = pods.job_condition("permanent", "Failed")
    assert condition["reason"] == "PodFailurePolicy"
    assert len(pods.list("job-name=permanent")) == 1


def test_a_job_completes(pods: Pods) -> None:
    pods.job("done", Pods.spec("echo ok > /dev/termination-log"), backoffLimit=0)
    pods.job_condition("done", "Complete")
    (pod,) = pods.list("job-name=done")
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"] == "ok\n"


def test_suspending_a_job_stops_its_running_pod_with_sigterm(pods: Pods) -> None:
    script = "trap 'echo got-term; exit 143' TERM; echo started; while true; do sleep 0.1; done"
    pods.job("pausing", Pods.spec(script, grace=10), backoffLimit=0)
    (pod,) = wait_for("the Job's pod", lambda: pods.list("job-name=pausing"))
    name = pod["metadata"]["name"]
    pods.phase(name, "Running")
    wait_for("the process to run", lambda: "started" in pods.log(name))
    pods.batch.patch_namespaced_job("pausing", pods.namespace, {"spec": {"suspend": True}})
    pods.job_condition("pausing", "Suspended")
    wait_for("the pod to go", lambda: not pods.list("job-name=pausing"))
    assert "got-term" in pods.log(name)
