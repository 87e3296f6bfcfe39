"""Kubernetes API errors become the API's HTTP errors in one place (errors.problem_for)."""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from wattcast.api.errors import problem_for
from wattcast.crd.kubeapi import KubeApiError, kube_error


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
    assert err.status == 422 and err.reason == "Invalid"
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


INTERNAL = "HTTPSConnectionPool(host='10.96.0.1', port=443): Read timed out. (read timeout=10)"


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (urllib3.exceptions.ReadTimeoutError(None, "/x", INTERNAL), "no answer in time"),  # type: ignore[arg-type]
        (TimeoutError(INTERNAL), "no answer in time"),
        (
            urllib3.exceptions.MaxRetryError(
                None,  # type: ignore[arg-type]
                "/x",
                urllib3.exceptions.NewConnectionError(None, f"{INTERNAL}: refused"),  # type: ignore[arg-type]
            ),
            "cannot connect",
        ),
        (ConnectionRefusedError(111, INTERNAL), "cannot connect"),
        (urllib3.exceptions.SSLError(INTERNAL), "TLS handshake failed"),
        (urllib3.exceptions.ProtocolError(INTERNAL), "the connection failed"),
        (OSError(INTERNAL), "the connection failed"),
    ],
    ids=["read-timeout", "timeout", "refused-after-retry", "refused", "tls", "protocol", "os"],
)
def test_no_answer_is_named_by_its_kind_without_the_servers_address(
    exc: BaseException, words: str
) -> None:
    err = kube_error(exc)
    assert err.status == 0
    assert err.message == words
    problem = problem_for(err, action="read", namespace="ns", name="x")
    assert problem.status_code == 503
    assert words in problem.detail
    for internal in ("10.96.0.1", "443", "HTTPSConnectionPool", "timeout="):
        assert internal not in problem.detail


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_shown_by_its_status_not_its_text(status: int) -> None:
    text = (
        'Internal error occurred: failed calling webhook "w.example": Post '
        '"https://10.0.0.7:9443/validate": dial tcp 10.0.0.7:9443: connect: connection refused'
    )
    err = kube_error(_api_exception(status, {"kind": "Status", "message": text}))
    problem = problem_for(err, action="create", namespace="ns", name="x")
    assert problem.status_code == 503
    assert f"HTTP {status}" in problem.detail
    assert "10.0.0.7" not in problem.detail and "webhook" not in problem.detail


def test_an_unexpected_status_is_shown_by_its_number_only() -> None:
    err = kube_error(_api_exception(418, {"kind": "Status", "message": "http://10.0.0.7:1/x"}))
    problem = problem_for(err, action="read", namespace="ns", name="x")
    assert problem.status_code == 502
    assert "10.0.0.7" not in problem.detail
