"""The API's settings come from WATTCAST_ environment variables (README.md, Configuration)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from wattcast.api.core.config import Settings
from wattcast.operator.settings import OperatorSettings
from wattcast.operator.sources import configured_sources


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("WATTCAST_API_TOKENS", "WATTCAST_API_NAMESPACES", "WATTCAST_API_NAMESPACE"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings()
    assert settings.api_namespace == "default"
    assert settings.allowed_namespaces == ["default"]
    assert settings.api_max_body_bytes == 65536
    assert settings.api_auth_disabled is False
    assert settings.source_names() == frozenset({"default"})


def test_comma_separated_tokens_and_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTCAST_API_TOKENS", " alpha, beta ,,alpha")
    monkeypatch.setenv("WATTCAST_API_NAMESPACE", "team-a")
    monkeypatch.setenv("WATTCAST_API_NAMESPACES", "team-b,team-a")
    settings = Settings()
    assert settings.tokens() == [b"alpha", b"beta"]
    assert settings.allowed_namespaces == ["team-a", "team-b"]


def test_tokens_file_adds_tokens_and_skips_comments(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# rotated 2026-01\nfile-token\n\n", encoding="utf-8")
    settings = Settings(api_tokens="env-token", api_tokens_file=path)
    assert settings.tokens() == [b"env-token", b"file-token"]


def test_missing_tokens_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is not a file"):
        Settings(api_tokens_file=tmp_path / "absent")


@pytest.mark.parametrize(
    "bad", ["Team", "a_b", "-x", "x" * 64], ids=["upper", "underscore", "dash", "long"]
)
def test_invalid_namespace_names_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="namespace"):
        Settings(api_namespace=bad)


def test_source_names_come_from_the_operators_sources_file(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "- name: archive\n  url: http://influx-archive:8086\n  dialect: influxql\n"
        "  database: energy\n"
        "- name: live\n  url: https://influx:8086\n  org: o\n  bucket: energy_data\n"
        "  tokenSecret: {name: influx-live, key: token}\n",
        encoding="utf-8",
    )
    settings = Settings(influx_sources_file=path)
    assert settings.source_names() == frozenset({"default", "archive", "live"})


@pytest.mark.parametrize(
    "content",
    ["name: x\n", "- name: x\n  url: ftp://nope\n", "- [unclosed\n"],
    ids=["not-a-list", "invalid-source", "bad-yaml"],
)
def test_a_broken_sources_file_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="WATTCAST_INFLUX_SOURCES_FILE"):
        Settings(influx_sources_file=path).source_names()


def test_the_api_and_the_operator_agree_on_the_source_names(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "- {name: archive, url: 'http://a:8086', dialect: influxql, database: energy}\n"
        "- {name: live, url: 'http://b:8086', org: o, bucket: energy_data}\n",
        encoding="utf-8",
    )
    operator = OperatorSettings(
        influx_url="http://influx:8086", influx_bucket="energy", influx_sources_file=path
    )
    api = Settings(influx_url="http://influx:8086", influx_sources_file=path)
    assert api.source_names() == frozenset(configured_sources(operator))


def test_a_sources_file_the_operator_refuses_is_refused_by_the_api_too(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("- {name: a, url: 'http://a'}\n", encoding="utf-8")  # flux, no bucket
    with pytest.raises(ValueError, match=r"WATTCAST_INFLUX_SOURCES_FILE.*needs a bucket"):
        Settings(influx_sources_file=path).source_names()
