"""A TrainingJob that names an unknown source, or overrides what its dialect does not allow,
fails at once with a reason, and no Job is ever made."""

from __future__ import annotations

import pytest
from operatorkit import K8s, OperatorProcess, condition, wait_for


@pytest.mark.parametrize(
    ("source", "reason", "words"),
    [
        ({"name": "nowhere"}, "UnknownSource", "'nowhere' is not a configured"),
        ({"name": "legacy", "bucket": "b2"}, "SourceOverrideNotAllowed", "database, not bucket"),
        ({"database": "db2"}, "SourceOverrideNotAllowed", "bucket, not database"),
    ],
    ids=["unknown", "bucket-on-influxql", "database-on-flux-default"],
)
def test_source_is_refused_and_no_job_is_made(
    operator: OperatorProcess,
    k8s: K8s,
    namespace: str,
    source: dict[str, str],
    reason: str,
    words: str,
) -> None:
    k8s.create_tj(namespace, "tj-src", source=source)
    status = k8s.wait_phase(namespace, "tj-src", "Failed")
    failed = condition(status, "Failed")
    assert failed["reason"] == reason
    assert words in status["message"]
    assert k8s.jobs(namespace) == []
    assert "jobName" not in status
    events = wait_for(lambda: k8s.events(namespace, "tj-src"), what="a Warning Event")
    assert [e["type"] for e in events] == ["Warning"]


@pytest.mark.parametrize(
    ("source", "env"),
    [
        ({"name": "cloud", "bucket": "other"}, {"INFLUX_BUCKET": "other", "INFLUX_ORG": "energy"}),
        ({"name": "legacy", "database": "db2"}, {"INFLUX_DATABASE": "db2"}),
    ],
    ids=["flux-bucket", "influxql-database"],
)
def test_allowed_override_reaches_the_trainer(
    operator: OperatorProcess,
    k8s: K8s,
    namespace: str,
    source: dict[str, str],
    env: dict[str, str],
) -> None:
    k8s.create_tj(namespace, "tj-src-ok", source=source)
    job = wait_for(lambda: k8s.job(namespace, "tj-src-ok"), what="the Job")
    values = {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    for key, value in env.items():
        assert values[key] == value
