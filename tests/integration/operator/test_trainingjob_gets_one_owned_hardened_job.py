"""An applied TrainingJob gets exactly one Job, owned by it and hardened, and is labelled."""

from __future__ import annotations

from operatorkit import TRAINER_DOUBLE_IMAGE, K8s, OperatorProcess, condition, wait_for


def test_trainingjob_gets_one_owned_hardened_job(
    operator: OperatorProcess, k8s: K8s, namespace: str
) -> None:
    created = k8s.create_tj(namespace, "tj-basic", meterId="W-0042:north")
    job = wait_for(lambda: k8s.job(namespace, "tj-basic"), what="the Job")
    (owner,) = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == (
        "TrainingJob",
        created["metadata"]["uid"],
        True,
    )
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["containers"][0]["image"] == TRAINER_DOUBLE_IMAGE
    assert job["spec"]["podFailurePolicy"]["rules"][0]["action"] == "FailJob"

    status = k8s.wait_phase(namespace, "tj-basic", "Pending")
    wait_for(lambda: k8s.status(namespace, "tj-basic").get("jobName") == "tj-basic")
    status = k8s.status(namespace, "tj-basic")
    assert condition(status, "JobCreated")["reason"] == "JobCreated"
    assert status["observedGeneration"] == 1

    # Labels added for `kubectl apply`; the meter id has a colon, so it gets no label.
    labels = wait_for(
        lambda: (k8s.tj(namespace, "tj-basic") or {})["metadata"].get("labels"), what="labels"
    )
    assert labels == {
        "app.kubernetes.io/part-of": "wattcast",
        "wattcast.dev/meter-type": "electricity",
    }

    # Kopf's bookkeeping lives in annotations, not in the pruned status.
    annotations = (k8s.tj(namespace, "tj-basic") or {})["metadata"]["annotations"]
    assert "wattcast.dev/last-handled-configuration" in annotations
    assert not (k8s.tj(namespace, "tj-basic") or {})["metadata"].get("finalizers")

    # The Job of the same name has Events of its own, which may come first.
    wait_for(
        lambda: any(e["reason"] == "JobCreated" for e in k8s.events(namespace, "tj-basic")),
        what="the JobCreated Event",
    )
    assert len(k8s.jobs(namespace)) == 1
