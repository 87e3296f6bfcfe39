"""kill -9 of the operator in the middle of a burst, then a restart: every TrainingJob ends
with exactly one Job and the right phase, including changes made while it was down."""

from __future__ import annotations

from collections.abc import Callable

from operatorkit import K8s, OperatorProcess, condition, succeeded_message, wait_for

BURST = 40


def test_kill_mid_burst_and_restart_gives_exactly_one_job_each(
    start_operator: Callable[..., OperatorProcess], k8s: K8s, namespace: str
) -> None:
    names = [f"tj-burst-{i:03d}" for i in range(BURST)]
    first = start_operator()
    for i, name in enumerate(names):
        # Queued TrainingJobs: their Jobs stay suspended, so the burst runs no pods.
        k8s.create_tj(namespace, name, queueName="training")
        if i == BURST // 3:
            # Let the operator be busy with the first third, then kill it mid-stream.
            wait_for(lambda: k8s.jobs(namespace), what="the first Jobs")
            first.kill()
    assert len(k8s.jobs(namespace)) < BURST, "the kill came too late to test anything"
    start_operator()

    def converged() -> bool:
        return all(k8s.status(namespace, name).get("phase") == "Queued" for name in names)

    wait_for(converged, timeout=90, what="every TrainingJob to record its Job")
    jobs = k8s.jobs(namespace)
    assert sorted(j["metadata"]["name"] for j in jobs) == names  # one each, no extra
    for name in names:
        status = k8s.status(namespace, name)
        assert status["jobName"] == name
        assert condition(status, "JobCreated")["status"] == "True"


def test_changes_while_the_operator_is_down_are_picked_up(
    start_operator: Callable[..., OperatorProcess], k8s: K8s, namespace: str
) -> None:
    first = start_operator()
    names = ("tj-down-ok", "tj-down-lost", "tj-down-gone", "tj-down-paused")
    for name in names:
        k8s.create_tj(namespace, name)
    for name in names:
        wait_for(lambda n=name: k8s.running(namespace, n), what=f"{name} Running")
    first.kill()

    # While it is down: one Job completes, one vanishes, one TrainingJob is deleted, one
    # is suspended.
    k8s.instruct(namespace, "tj-down-ok", termination=succeeded_message())
    wait_for(lambda: k8s.job_condition(namespace, "tj-down-ok", "Complete"), what="Complete")
    k8s.delete_job(namespace, "tj-down-lost")
    wait_for(lambda: k8s.job(namespace, "tj-down-lost") is None, what="the Job to go")
    k8s.delete_tj(namespace, "tj-down-gone")  # no finalizer: gone at once
    assert k8s.tj(namespace, "tj-down-gone") is None
    wait_for(lambda: k8s.job(namespace, "tj-down-gone") is None, what="the cascade")
    k8s.patch_tj(namespace, "tj-down-paused", {"spec": {"suspend": True}})

    start_operator()
    status = k8s.wait_phase(namespace, "tj-down-ok", "Succeeded")
    assert status["result"] == succeeded_message()["result"]
    status = k8s.wait_phase(namespace, "tj-down-lost", "Failed")
    assert condition(status, "Failed")["reason"] == "JobLost"
    assert k8s.job(namespace, "tj-down-lost") is None
    k8s.wait_phase(namespace, "tj-down-paused", "Suspended")
    paused = k8s.job(namespace, "tj-down-paused")
    assert paused is not None
    assert paused["spec"]["suspend"] is True
    wait_for(lambda: not k8s.job_pods(namespace, "tj-down-paused"), what="its pod to go")
