"""`wattcast.crd.kubeapi`: the one configuration order every process uses (an explicit file,
else the pod's ServiceAccount, else $KUBECONFIG as it is when called), and the one error a
failed call becomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import urllib3
import yaml
from kubernetes.client.exceptions import ApiException
from kubernetes.config import incluster_config
from kubernetes.config.config_exception import ConfigException

from wattcast.crd.kubeapi import KubeApiError, kube_error, load_configuration


def kubeconfig(path: Path, server: str) -> Path:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def in_a_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a pod has: the service's address in its environment, its ServiceAccount's files."""
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("pod-token")
    ca.write_text("not checked until a connection is made")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")


@pytest.fixture
def not_in_a_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)


def test_an_explicit_file_wins_even_in_a_pod(
    in_a_pod: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "env", "https://env:6443")))
    explicit = kubeconfig(tmp_path / "explicit", "https://explicit:6443")
    assert load_configuration(explicit).host == "https://explicit:6443"


def test_in_a_pod_its_service_account_wins_over_kubeconfig(
    in_a_pod: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "env", "https://env:6443")))
    configuration = load_configuration()
    assert configuration.host == "https://10.96.0.1:443"
    assert configuration.api_key == {"BearerToken": "bearer pod-token"}


def test_outside_a_pod_kubeconfig_is_read_when_called(
    not_in_a_pod: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Set after `kubernetes` was imported: the client's own default would not see it.
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "late", "https://late:6443")))
    assert load_configuration().host == "https://late:6443"


def test_with_neither_the_error_names_both_tries(
    not_in_a_pod: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(ConfigException, match=r"not in a pod .* and no kubeconfig"):
        load_configuration()


def test_an_explicit_file_that_is_missing_is_not_replaced_by_another(
    in_a_pod: None, tmp_path: Path
) -> None:
    with pytest.raises(ConfigException):
        load_configuration(tmp_path / "missing")


def test_an_answer_with_a_status_keeps_its_words_and_causes() -> None:
    status = {
        "kind": "Status",
        "reason": "AlreadyExists",
        "message": 'trainingjobs "tj" already exists',
        "details": {"causes": [{"field": "metadata.name"}, "not a cause"]},
    }
    error = KubeApiError.from_answer(409, "Conflict", json.dumps(status).encode(), {})
    assert (error.status, error.reason, error.message) == (
        409,
        "AlreadyExists",
        'trainingjobs "tj" already exists',
    )
    assert error.causes == [{"field": "metadata.name"}]
    assert str(error) == '409 AlreadyExists: trainingjobs "tj" already exists'


def test_an_answer_without_a_status_gives_its_reason_phrase_and_retry_after() -> None:
    error = KubeApiError.from_answer(429, "Too Many Requests", "<html/>", {"Retry-After": "0"})
    assert (error.message, error.reason, error.causes) == (
        "Too Many Requests",
        "Too Many Requests",
        [],
    )
    assert error.retry_after == 1  # never "retry at once"
    assert error.body == "<html/>"


def test_the_generated_clients_exception_becomes_the_same_error() -> None:
    raised = ApiException(status=404, reason="Not Found", body='{"reason": "NotFound"}')
    error = kube_error(raised)
    assert (error.status, error.reason, error.message) == (404, "NotFound", "Not Found")


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (urllib3.exceptions.NewConnectionError(None, "10.0.0.5:6443 refused"), "cannot connect"),
        (urllib3.exceptions.ReadTimeoutError(None, "/", "10.0.0.5 read timeout"), "no answer"),
        (urllib3.exceptions.SSLError("10.0.0.5 bad handshake"), "TLS handshake failed"),
        (ConnectionResetError("10.0.0.5 reset"), "the connection failed"),
    ],
    ids=["refused", "timeout", "tls", "reset"],
)
def test_no_answer_is_status_zero_and_names_no_address(failure: BaseException, words: str) -> None:
    error = kube_error(failure)
    assert error.status == 0
    assert words in error.message
    assert "10.0.0.5" not in str(error)


def test_any_other_exception_is_not_taken_for_a_kubernetes_failure() -> None:
    with pytest.raises(ValueError, match="a bug"):
        kube_error(ValueError("a bug"))
