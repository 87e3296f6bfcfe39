"""A Job that already exists and is ours (its controller ownerReference is the TrainingJob)
is adopted, not duplicated: what a restart between "Job created" and "status written" sees."""

from __future__ import annotations

import json
from collections.abc import Callable

from operatorkit import K8s, OperatorProcess, condition, wait_for


def test_job_is_adopted_on_conflict(
    start_operator: Callable[..., OperatorProcess], k8s: K8s, namespace: str
) -> None:
    tj = k8s.create_tj(namespace, "tj-adopt")
    ours = k8s.create_job(
        namespace,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": "tj-adopt",
                "labels": {"wattcast.dev/trainingjob": "tj-adopt"},
                "ownerReferences": [
                    {
                        "apiVersion": "wattcast.dev/v1alpha1",
                        "kind": "TrainingJob",
                        "name": "tj-adopt",
                        "uid": tj["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "suspend": True,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "trainer", "image": "x"}],
                    }
                },
            },
        },
    )
    running = start_operator(WATTCAST_LOG_FORMAT="json")
    wait_for(lambda: k8s.status(namespace, "tj-adopt").get("jobName"), what="jobName")
    status = k8s.status(namespace, "tj-adopt")
    assert condition(status, "JobCreated")["reason"] == "JobAdopted"
    (job,) = k8s.jobs(namespace)
    assert job["metadata"]["uid"] == ours["metadata"]["uid"]
    # Logs are JSON lines in production (WATTCAST_LOG_FORMAT=json).
    lines = [line for line in running.log().splitlines() if line.strip()]
    assert lines
    assert all(isinstance(json.loads(line), dict) for line in lines)
