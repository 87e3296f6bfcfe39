"""The operator killed (SIGKILL) mid-training and started again: the job still ends in
SUCCESS, with exactly one Job."""

from __future__ import annotations

from e2e_support import E2E, unique


def test_operator_killed_mid_training_converges(e2e: E2E) -> None:
    meter = unique("restart")
    e2e.load_meter(meter)
    name = e2e.create(meter)
    e2e.wait_status(name, {"PROCESSING_DATA", "TRAINING", "SAVING_MODEL"}, timeout=120)
    assert e2e.stack.operator is not None
    old = e2e.stack.operator.pid
    e2e.stack.restart_operator(kill=True)
    assert e2e.stack.operator.pid != old
    final = e2e.wait_success(name)
    assert final["phase"] == "Succeeded"
    assert [j["metadata"]["name"] for j in e2e.jobs_of(name)] == [name]
    assert len(e2e.pods_of(name)) == 1
