"""The operator serves Prometheus metrics: TrainingJobs by phase, TrainingJob→Job latency,
Job outcomes, handler errors and the API requests it made."""

from __future__ import annotations

import re

from operatorkit import K8s, OperatorProcess, wait_for


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(rf"^{re.escape(name)}(\{{(?P<labels>[^}}]*)\}})? (?P<value>\S+)$", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels") or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group("value"))
    return 0.0


def test_operator_metrics_are_served(operator: OperatorProcess, k8s: K8s, namespace: str) -> None:
    k8s.create_tj(namespace, "tj-metrics", activeDeadlineSeconds=1)
    k8s.create_tj(namespace, "tj-metrics-bad", source={"name": "nowhere"})
    wait_for(lambda: k8s.status(namespace, "tj-metrics").get("jobName"), what="jobName")
    k8s.wait_phase(namespace, "tj-metrics", "Failed")
    k8s.wait_phase(namespace, "tj-metrics-bad", "Failed")

    def scraped() -> str | None:
        text = operator.metrics()
        done = sample(text, "wattcast_job_outcomes_total", reason="DeadlineExceeded")
        return text if done >= 1 else None

    text = wait_for(scraped, what="the outcome in the metrics")
    assert sample(text, "wattcast_trainingjobs", phase="Failed") >= 2
    assert sample(text, "wattcast_trainingjob_to_job_seconds_count") >= 1
    assert sample(text, "wattcast_jobs_total", action="created") >= 1
    assert sample(text, "wattcast_jobs_total", action="refused") >= 1
    assert sample(text, "wattcast_job_outcomes_total", phase="Failed", reason="UnknownSource") >= 1
    assert sample(text, "wattcast_api_requests_total", verb="create", resource="jobs") >= 1
    assert (
        sample(text, "wattcast_api_requests_total", verb="patch", resource="trainingjobs/status")
        >= 2
    )
    assert "wattcast_handler_errors_total" in text or "# TYPE wattcast_handler_errors" in text
