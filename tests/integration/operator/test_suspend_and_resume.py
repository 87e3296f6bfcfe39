"""spec.suspend suspends the Job (the real Job controller deletes its pod; record and Job
stay) and resumes it (a new pod)."""

from __future__ import annotations

from operatorkit import K8s, OperatorProcess, condition, wait_for


def test_suspend_and_resume(operator: OperatorProcess, k8s: K8s, namespace: str) -> None:
    k8s.create_tj(namespace, "tj-pause")
    wait_for(lambda: k8s.running(namespace, "tj-pause"), what="Running")
    (pod,) = wait_for(lambda: k8s.job_pods(namespace, "tj-pause"), what="the pod")
    k8s.patch_tj_status(namespace, "tj-pause", {"phase": "Training", "progress": 50})

    k8s.patch_tj(namespace, "tj-pause", {"spec": {"suspend": True}})
    status = k8s.wait_phase(namespace, "tj-pause", "Suspended")
    assert condition(status, "Suspended")["reason"] == "Suspended"
    job = k8s.job(namespace, "tj-pause")
    assert job is not None
    assert job["spec"]["suspend"] is True
    wait_for(lambda: k8s.job_condition(namespace, "tj-pause", "Suspended"), what="Job Suspended")
    k8s.pod_phase(namespace, pod["metadata"]["name"], "Gone")

    k8s.patch_tj(namespace, "tj-pause", {"spec": {"suspend": False}})
    wait_for(lambda: k8s.running(namespace, "tj-pause"), what="Running again")
    status = k8s.status(namespace, "tj-pause")
    assert status["phase"] == "Pending"
    assert condition(status, "Suspended")["status"] == "False"
    assert condition(status, "Suspended")["reason"] == "Resumed"
    assert len(k8s.jobs(namespace)) == 1
    (again,) = wait_for(lambda: k8s.job_pods(namespace, "tj-pause"), what="a new pod")
    assert again["metadata"]["uid"] != pod["metadata"]["uid"]


def test_cancel_is_suspending_for_good(operator: OperatorProcess, k8s: K8s, namespace: str) -> None:
    k8s.create_tj(namespace, "tj-cancel")
    wait_for(lambda: k8s.running(namespace, "tj-cancel"), what="Running")
    k8s.patch_tj(
        namespace,
        "tj-cancel",
        {
            "metadata": {"annotations": {"wattcast.dev/cancelled": "true"}},
            "spec": {"suspend": True},
        },
    )
    status = k8s.wait_phase(namespace, "tj-cancel", "Suspended")
    assert condition(status, "Suspended")["reason"] == "Cancelled"
    wait_for(lambda: not k8s.job_pods(namespace, "tj-cancel"), what="the pod to go")


def test_trainingjob_created_suspended_gets_a_suspended_job(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    k8s.create_tj(namespace, "tj-born-paused", suspend=True)
    k8s.wait_phase(namespace, "tj-born-paused", "Suspended")
    job = k8s.job(namespace, "tj-born-paused")
    assert job is not None
    assert job["spec"]["suspend"] is True
    wait_for(
        lambda: k8s.job_condition(namespace, "tj-born-paused", "Suspended"),
        what="the Job controller to see it suspended",
    )
    assert k8s.job_pods(namespace, "tj-born-paused") == []
