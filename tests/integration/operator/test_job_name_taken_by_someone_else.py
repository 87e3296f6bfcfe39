"""A Job of the TrainingJob's name that the TrainingJob does not own is never taken over:
the TrainingJob fails with JobNameConflict and the other Job is left as it was."""

from __future__ import annotations

from operatorkit import K8s, OperatorProcess, condition


def test_job_name_taken_by_someone_else(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    theirs = k8s.create_job(
        namespace,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "tj-taken", "labels": {"team": "other"}},
            "spec": {
                "suspend": True,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": "busybox"}],
                    }
                },
            },
        },
    )
    k8s.create_tj(namespace, "tj-taken")
    status = k8s.wait_phase(namespace, "tj-taken", "Failed")
    assert condition(status, "Failed")["reason"] == "JobNameConflict"
    assert "not this TrainingJob's" in status["message"]
    job = k8s.job(namespace, "tj-taken")
    assert job is not None
    assert job["metadata"]["uid"] == theirs["metadata"]["uid"]
    assert not job["metadata"].get("ownerReferences")
    assert "jobName" not in status
