"""spec.suspend suspends the Job (pods go, record and Job stay) and resumes it."""

from __future__ import annotations

from operatorkit import K8s, OperatorProcess, condition, wait_for

from wattcast.devtools.jobcontroller import JobController


def running(k8s: K8s, namespace: str, name: str) -> bool:
    conditions = k8s.status(namespace, name).get("conditions") or []
    return any(c["type"] == "Running" and c["status"] == "True" for c in conditions)


def test_suspend_and_resume(
    operator: OperatorProcess, k8s: K8s, jobs: JobController, namespace: str
) -> None:
    k8s.create_tj(namespace, "tj-pause")
    wait_for(lambda: running(k8s, namespace, "tj-pause"), what="Running")
    k8s.patch_tj_status(namespace, "tj-pause", {"phase": "Training", "progress": 50})

    k8s.patch_tj(namespace, "tj-pause", {"spec": {"suspend": True}})
    status = k8s.wait_phase(namespace, "tj-pause", "Suspended")
    assert condition(status, "Suspended")["reason"] == "Suspended"
    job = k8s.job(namespace, "tj-pause")
    assert job is not None
    assert job["spec"]["suspend"] is True
    wait_for(
        lambda: all(p["status"].get("phase") != "Running" for p in k8s.pods(namespace)),
        what="the pods to stop",
    )

    k8s.patch_tj(namespace, "tj-pause", {"spec": {"suspend": False}})
    wait_for(lambda: running(k8s, namespace, "tj-pause"), what="Running again")
    status = k8s.status(namespace, "tj-pause")
    assert status["phase"] == "Pending"
    assert condition(status, "Suspended")["status"] == "False"
    assert condition(status, "Suspended")["reason"] == "Resumed"
    assert len(k8s.jobs(namespace)) == 1


def test_cancel_is_suspending_for_good(
    operator: OperatorProcess, k8s: K8s, jobs: JobController, namespace: str
) -> None:
    k8s.create_tj(namespace, "tj-cancel")
    wait_for(lambda: running(k8s, namespace, "tj-cancel"), what="Running")
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


def test_trainingjob_created_suspended_gets_a_suspended_job(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    k8s.create_tj(namespace, "tj-born-paused", suspend=True)
    k8s.wait_phase(namespace, "tj-born-paused", "Suspended")
    job = k8s.job(namespace, "tj-born-paused")
    assert job is not None
    assert job["spec"]["suspend"] is True
