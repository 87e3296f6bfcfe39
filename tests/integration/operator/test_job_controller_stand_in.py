"""The stand-in Job controller (wattcast.devtools.jobcontroller) behaves like the real one
where the operator's tests rely on it: pods for unsuspended Jobs, none for suspended ones,
retries after a failed pod, and batch/v1 conditions on completion and failure."""

from __future__ import annotations

import json
from typing import Any

from operatorkit import K8s, wait_for

from wattcast.devtools.jobcontroller import JobController


def job_body(name: str, *, suspend: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "suspend": suspend,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "trainer", "image": "x"}],
                }
            },
        },
    }


def live_pods(k8s: K8s, namespace: str) -> list[dict[str, Any]]:
    return [p for p in k8s.pods(namespace) if p["status"].get("phase") == "Running"]


def test_pods_follow_suspend_and_retries(k8s: K8s, jobs: JobController, namespace: str) -> None:
    k8s.create_job(namespace, job_body("j-life", suspend=True))
    jobs.reconcile(namespace, "j-life")
    assert k8s.pods(namespace) == []
    jobs.admit(namespace, "j-life")
    (pod,) = wait_for(lambda: live_pods(k8s, namespace), what="a pod")
    assert pod["metadata"]["labels"]["job-name"] == "j-life"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    job = k8s.job(namespace, "j-life")
    assert job is not None
    assert (job["status"]["active"], bool(job["status"]["startTime"])) == (1, True)

    jobs.fail_pod(namespace, "j-life", exit_code=1)
    wait_for(lambda: len(live_pods(k8s, namespace)) == 1 and len(k8s.pods(namespace)) == 2)
    message = {"phase": "Failed", "reason": "NoData", "message": "no rows"}
    jobs.fail(namespace, "j-life", reason="PodFailurePolicy", exit_code=2, termination=message)
    job = k8s.job(namespace, "j-life")
    assert job is not None
    assert job["status"]["failed"] == 2
    types = [(c["type"], c["reason"]) for c in job["status"]["conditions"]]
    assert ("Failed", "PodFailurePolicy") in types
    assert ("FailureTarget", "PodFailurePolicy") in types
    terminated = [
        p["status"]["containerStatuses"][0]["state"]["terminated"] for p in k8s.pods(namespace)
    ]
    # The second pod carries the trainer's termination message, the first none.
    assert [json.loads(t["message"]) for t in terminated if "message" in t] == [message]


def test_suspending_a_running_job_removes_its_pods(
    k8s: K8s, jobs: JobController, namespace: str
) -> None:
    k8s.create_job(namespace, job_body("j-pause"))
    wait_for(lambda: live_pods(k8s, namespace), what="a pod")
    k8s.batch.patch_namespaced_job(
        "j-pause",
        namespace,
        {"spec": {"suspend": True}},
        _content_type="application/merge-patch+json",
    )
    wait_for(lambda: k8s.pods(namespace) == [], what="the pod to go")
    job = k8s.job(namespace, "j-pause")
    assert job is not None
    assert any(c["type"] == "Suspended" for c in job["status"]["conditions"])


def test_success_completes_the_job(k8s: K8s, jobs: JobController, namespace: str) -> None:
    k8s.create_job(namespace, job_body("j-ok"))
    wait_for(lambda: live_pods(k8s, namespace), what="a pod")
    jobs.succeed(namespace, "j-ok", termination="done")
    job = k8s.job(namespace, "j-ok")
    assert job is not None
    assert job["status"]["succeeded"] == 1
    assert job["status"]["completionTime"]
    assert {c["type"] for c in job["status"]["conditions"]} >= {"Complete", "SuccessCriteriaMet"}
    (pod,) = k8s.pods(namespace)
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"] == "done"
