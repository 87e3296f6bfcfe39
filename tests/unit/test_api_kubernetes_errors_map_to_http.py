"""Kubernetes API errors become the API's HTTP errors in one place (kube.problem_for)."""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from wattcast.api.kube import KubeApiError, kube_error, problem_for


def _api_exception(status: int, body: dict[str, object] | None = None) -> ApiException:
    exc = ApiException(status=status, reason="Reason", body=json.dumps(body) if body else None)
    return exc


def test_a_kubernetes_status_body_is_read() -> None:
    err = kube_error(
        _api_exception(
            422,
            {
                "kind": "Status",
                "reason": "Invalid",
                "message": 'TrainingJob "x" is invalid: spec.end: end must be after start',
                "details": {
                    "causes": [
                        {
                            "field": "spec.end",
                            "message": "end must be after start",
                            "reason": "FieldValueInvalid",
                        }
                    ]
                },
            },
        )
    )
    assert err.status == 422 and err.kube_reason == "Invalid"
    problem = problem_for(err, action="create", namespace="ns", name="x")
    assert problem.status_code == 422
    assert problem.errors is not None and problem.errors[0].field == "spec.end"
    assert "end must be after start" in problem.detail


def test_no_answer_at_all_is_status_zero() -> None:
    err = kube_error(urllib3.exceptions.MaxRetryError(None, "/x", "refused"))  # type: ignore[arg-type]
    assert err.status == 0


@pytest.mark.parametrize(
    ("status", "name", "expected", "words"),
    [
        (404, "job-1", 404, "not found"),
        (404, None, 503, "not installed"),
        (409, "job-1", 409, "Conflict"),
        (403, "job-1", 403, "RBAC"),
        (429, "job-1", 429, "busy"),
        (400, None, 400, "refused"),
        (410, None, 410, "start again"),
        (401, "job-1", 503, "cannot authenticate"),
        (500, "job-1", 503, "unavailable"),
        (503, "job-1", 503, "unavailable"),
        (504, "job-1", 503, "unavailable"),
        (0, "job-1", 503, "unavailable"),
        (418, "job-1", 502, "Unexpected"),
    ],
    ids=lambda v: str(v),
)
def test_status_mapping(status: int, name: str | None, expected: int, words: str) -> None:
    problem = problem_for(
        KubeApiError(status=status, message="m"),
        action="read",
        namespace="ns",
        name=name,
        retry_after=9,
    )
    assert problem.status_code == expected
    assert words in problem.detail
    if expected in {429, 503}:
        assert problem.headers["Retry-After"] == "9"


def test_the_servers_retry_after_wins() -> None:
    problem = problem_for(
        KubeApiError(status=429, message="slow down", retry_after=3),
        action="create",
        namespace="ns",
        retry_after=9,
    )
    assert problem.headers["Retry-After"] == "3"


def test_a_404_on_create_names_the_namespace_not_the_job() -> None:
    problem = problem_for(
        KubeApiError(status=404, message='namespaces "gone" not found'),
        action="create",
        namespace="gone",
        name="job-1",
    )
    assert problem.status_code == 404
    assert 'namespaces "gone" not found' in problem.detail
    assert "Does the namespace exist" in problem.detail
