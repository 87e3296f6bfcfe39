"""What the operator writes into a TrainingJob's status is for people: texts it copies (the
trainer's termination message, the Job controller's condition) and the failures it reports
itself (an invalid TrainingJob, a Job the API server refused) never carry an internal address,
a credential, the refused object's values or a raw exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from wattcast.crd import TerminationMessage, TrainingJob, find_condition
from wattcast.operator import messages
from wattcast.operator import status as mapping
from wattcast.operator.kubeclient import KubeApiError
from wattcast.operator.status import observe_job

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
INTERNAL = "HTTPConnectionPool(host='influx.internal', port=8086): http://admin:pw@10.0.0.5:8086/q"
LEAKS = ["influx.internal", "8086", "admin:pw", "10.0.0.5", "http://"]


def _clean(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, (leak, text)


def _job(conditions: list[dict[str, Any]], **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "tj1", "labels": {}},
        "spec": {"suspend": False},
        "status": {"conditions": conditions, **status},
    }


def _failed(message: str) -> dict[str, Any]:
    return {
        "type": "Failed",
        "status": "True",
        "reason": "BackoffLimitExceeded",
        "message": message,
        "lastTransitionTime": "2026-01-02T03:00:00Z",
    }


def _written(change: mapping.StatusChange) -> list[str]:
    status = change.patch
    texts = [str(status.get("message", "")), change.message]
    texts += [str(c.get("message", "")) for c in status.get("conditions") or []]
    return texts


def test_a_copied_termination_message_is_redacted_everywhere_it_is_written() -> None:
    termination = TerminationMessage(phase="Failed", reason="InfluxUnavailable", message=INTERNAL)
    change = mapping.from_job(
        {"phase": "Training"},
        observe_job(_job([_failed("Job has reached the specified backoff limit")], failed=4)),
        suspend=False,
        cancelled=False,
        termination=termination,
        now=NOW,
    )
    assert change.patch["phase"] == "Failed"
    for text in _written(change):
        _clean(text)
    assert change.patch["message"].startswith("InfluxUnavailable: ")
    assert "[address]" in change.patch["message"]


def test_a_job_conditions_message_is_redacted() -> None:
    change = mapping.from_job(
        {"phase": "Training"},
        observe_job(_job([_failed(f"pod failed: {INTERNAL}")], failed=1)),
        suspend=False,
        cancelled=False,
        termination=None,
        now=NOW,
    )
    failed = find_condition(change.patch["conditions"], "Failed")
    assert failed is not None
    for text in _written(change):
        _clean(text)


def test_a_success_message_from_the_trainer_is_redacted() -> None:
    termination = TerminationMessage(
        phase="Succeeded", reason="TrainingSucceeded", message=f"done, see {INTERNAL}"
    )
    complete = {**_failed(""), "type": "Complete", "reason": ""}
    change = mapping.from_job(
        {"phase": "Saving"},
        observe_job(_job([complete], succeeded=1)),
        suspend=False,
        cancelled=False,
        termination=termination,
        now=NOW,
    )
    assert change.patch["phase"] == "Succeeded"
    for text in _written(change):
        _clean(text)


def test_an_operator_failure_message_is_redacted_too() -> None:
    change = mapping.failed({}, reason="JobLost", message=f"lost at {INTERNAL}", now=NOW)
    for text in _written(change):
        _clean(text)


def _invalid(**spec: Any) -> ValidationError:
    body = {
        "metadata": {"name": "tj1", "namespace": "ns", "uid": "u"},
        "spec": {
            "meterId": "meter1",
            "meterType": "electricity",
            "start": "2024-01-01T00:00:00Z",
            "end": "2024-02-01T00:00:00Z",
            **spec,
        },
    }
    with pytest.raises(ValidationError) as caught:
        TrainingJob.model_validate(body)
    return caught.value


@pytest.mark.parametrize(
    "spec",
    [
        {"meterId": "http://10.0.0.5:8086/steal"},
        {"source": {"url": "http://admin:pw@influx.internal:8086"}},
        {"meterType": "gas http://10.0.0.5:8086"},
    ],
    ids=["url-as-meter-id", "url-as-source", "url-in-enum"],
)
def test_an_invalid_trainingjob_is_described_without_its_values(spec: dict[str, Any]) -> None:
    text = messages.invalid_trainingjob(_invalid(**spec))
    assert text.startswith("the TrainingJob is invalid: spec.")
    _clean(text)
    assert "errors.pydantic.dev" not in text and "input_value" not in text


def test_a_refused_job_is_described_by_the_servers_message_not_its_body() -> None:
    status = {
        "kind": "Status",
        "code": 422,
        "message": 'Job.batch "tj1" is invalid: spec.template.spec.containers[0].env[3]: '
        f'Invalid value: "{INTERNAL}"',
        "details": {"causes": [{"field": "env", "message": f"bad {INTERNAL}"}]},
    }
    text = messages.job_refused(
        KubeApiError.from_answer(422, "Unprocessable Entity", json.dumps(status))
    )
    assert text.startswith('the API server refused the Job: Job.batch "tj1" is invalid')
    _clean(text)
    assert "details" not in text and "causes" not in text


def test_a_refused_job_without_a_status_body_gives_the_http_status() -> None:
    text = messages.job_refused(
        KubeApiError.from_answer(400, "Bad Request", f"<html>{INTERNAL}</html>")
    )
    assert text == "the API server refused the Job: HTTP 400 Bad Request"
