"""The operator's metrics: TrainingJobs by phase are counted at scrape time."""

from __future__ import annotations

from prometheus_client import generate_latest

from wattcast.operator.metrics import REGISTRY, PhaseTally


def test_phase_tally_counts_each_trainingjob_once() -> None:
    tally = PhaseTally()
    tally.set("a", "tj1", "Pending")
    tally.set("a", "tj1", "Training")  # moved on: counted once, in its new phase
    tally.set("b", "tj1", None)
    tally.set("a", "tj2", "Failed")
    tally.forget("a", "tj2")
    counts = tally.counts()
    assert counts["Training"] == 1
    assert counts["Unknown"] == 1
    assert counts["Failed"] == 0
    assert counts["Pending"] == 0
    assert sum(counts.values()) == 2


def test_every_metric_is_exposed() -> None:
    text = generate_latest(REGISTRY).decode()
    for name in (
        "wattcast_trainingjobs",
        "wattcast_trainingjob_to_job_seconds",
        "wattcast_job_outcomes",
        "wattcast_jobs",
        "wattcast_handler_errors",
        "wattcast_api_requests",
    ):
        assert f"# TYPE {name}" in text
