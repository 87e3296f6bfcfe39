"""The operator's WATTCAST_ settings: defaults, parsing, and clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wattcast.operator.settings import OperatorSettings, get_settings


def test_defaults_match_the_agreed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("WATTCAST_NAMESPACES", "WATTCAST_METRICS_PORT", "WATTCAST_PEERING"):
        monkeypatch.delenv(var, raising=False)
    s = OperatorSettings()
    assert s.namespace_list == []
    assert s.trainer_image == "ghcr.io/wattcast/wattcast-trainer:0.1.0"
    assert s.trainer_image_pull_secret_list == []
    assert s.models_claim == "wattcast-models"
    assert (s.metrics_port, s.health_port) == (8080, 8081)
    assert (s.watch_server_timeout, s.watch_client_timeout) == (600, 660)
    assert s.default_backoff_limit == 3
    assert s.trainingjob_retention_seconds == 0
    assert s.peering == ""


def test_trainer_image_pull_secrets_are_a_comma_separated_list() -> None:
    s = OperatorSettings(trainer_image_pull_secrets=" registry-a, ,registry-b ")
    assert s.trainer_image_pull_secret_list == ["registry-a", "registry-b"]


def test_the_shared_trainer_service_account_setting_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each TrainingJob's trainer has its own ServiceAccount now; the old variable is ignored.
    monkeypatch.setenv("WATTCAST_TRAINER_SERVICE_ACCOUNT", "shared")
    assert not hasattr(OperatorSettings(), "trainer_service_account")


def test_environment_is_read_through_the_cached_getter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTCAST_NAMESPACES", " team-a, team-b ,,")
    monkeypatch.setenv("WATTCAST_INFLUX_TOKEN_SECRET", "influx/token")
    get_settings.cache_clear()
    try:
        s = get_settings()
        assert s.namespace_list == ["team-a", "team-b"]
        assert s.influx_token_secret == "influx/token"
        assert get_settings() is s
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("namespaces", "globs"),
    [("", False), ("team-a, team-b", False), ("op-*", True), ("team-a,!kube-system", True)],
)
def test_only_namespace_globs_need_kopf_to_scan_namespaces(namespaces: str, globs: bool) -> None:
    assert OperatorSettings(namespaces=namespaces).namespace_globs is globs


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("WATTCAST_INFLUX_TOKEN_SECRET", "no-key"),
        ("WATTCAST_INFLUX_TOKEN_SECRET", "a/b/c"),
        ("WATTCAST_METRICS_PORT", "70000"),
        ("WATTCAST_LOG_FORMAT", "xml"),
        ("WATTCAST_TRAINER_IMAGE_PULL_POLICY", "Sometimes"),
        ("WATTCAST_DEFAULT_BACKOFF_LIMIT", "-1"),
    ],
    ids=["secret-no-key", "secret-two-slashes", "port", "log-format", "pull-policy", "backoff"],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError, match=var.removeprefix("WATTCAST_").lower()):
        OperatorSettings()


def test_log_format_follows_the_terminal_unless_set() -> None:
    assert OperatorSettings(log_format="plain").effective_log_format == "plain"
    assert OperatorSettings(log_format="json").effective_log_format == "json"
