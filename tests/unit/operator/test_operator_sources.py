"""Sources are the administrator's: a TrainingJob picks one by name and narrows it, no more."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattcast.crd import Reason, SourceRef
from wattcast.crd.influx_sources import SourcesConfigError
from wattcast.operator.settings import OperatorSettings
from wattcast.operator.sources import SourceRefused, configured_sources, resolve_source

SOURCES_YAML = """
- name: legacy
  url: http://influx1:8086
  dialect: influxql
  database: energy
  tokenSecret: {name: influx1-creds, key: userpass}
- name: cloud
  url: https://influx.example
  dialect: flux
  org: energy
  bucket: meters
"""


@pytest.fixture
def settings(tmp_path: Path) -> OperatorSettings:
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES_YAML)
    return OperatorSettings(
        influx_url="http://influx:8086",
        influx_org="org",
        influx_bucket="energy_data",
        influx_token_secret="influx-token/token",
        influx_sources_file=path,
    )


def test_default_and_file_sources_are_configured(settings: OperatorSettings) -> None:
    sources = configured_sources(settings)
    assert sorted(sources) == ["cloud", "default", "legacy"]
    default = sources["default"]
    assert default.url == "http://influx:8086"
    assert default.token_secret is not None
    assert (default.token_secret.name, default.token_secret.key) == ("influx-token", "token")
    assert sources["legacy"].database == "energy"


@pytest.mark.parametrize(
    ("ref", "name", "bucket", "database"),
    [
        (None, "default", "energy_data", None),
        (SourceRef(), "default", "energy_data", None),
        (SourceRef(name="cloud"), "cloud", "meters", None),
        (SourceRef(name="cloud", bucket="other"), "cloud", "other", None),
        (SourceRef(name="legacy", database="db2"), "legacy", None, "db2"),
    ],
    ids=["no-source", "empty-source", "named", "bucket-override", "database-override"],
)
def test_source_is_resolved(
    settings: OperatorSettings,
    ref: SourceRef | None,
    name: str,
    bucket: str | None,
    database: str | None,
) -> None:
    source = resolve_source(ref, configured_sources(settings))
    assert (source.name, source.bucket, source.database) == (name, bucket, database)


@pytest.mark.parametrize(
    ("ref", "reason", "words"),
    [
        (SourceRef(name="nowhere"), Reason.UNKNOWN_SOURCE, "'nowhere' is not a configured"),
        (SourceRef(name="legacy", bucket="b"), Reason.SOURCE_OVERRIDE_NOT_ALLOWED, "database"),
        (SourceRef(name="cloud", database="d"), Reason.SOURCE_OVERRIDE_NOT_ALLOWED, "bucket"),
    ],
    ids=["unknown-name", "bucket-on-influxql", "database-on-flux"],
)
def test_source_is_refused(
    settings: OperatorSettings, ref: SourceRef, reason: str, words: str
) -> None:
    with pytest.raises(SourceRefused) as caught:
        resolve_source(ref, configured_sources(settings))
    assert caught.value.reason == reason
    assert words in caught.value.message


def test_no_default_source_refuses_a_trainingjob_without_source() -> None:
    with pytest.raises(SourceRefused) as caught:
        resolve_source(None, configured_sources(OperatorSettings()))
    assert caught.value.reason == Reason.UNKNOWN_SOURCE
    assert "configured: none" in caught.value.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("- name: x\n  url: ftp://nope\n  bucket: b\n", "url"),
        (
            "- {name: a, url: 'http://a', bucket: b}\n- {name: a, url: 'http://b', bucket: c}\n",
            "configured twice",
        ),
        ("- {name: a, url: 'http://a', dialect: influxql}\n", "needs a database"),
        ("- {name: a, url: 'http://a'}\n", "needs a bucket"),
        ("[unclosed", "not valid YAML"),
        ("- {name: a, url: 'http://a', bucket: b, password: x}\n", "password"),
    ],
    ids=["bad-url", "duplicate", "influxql-no-db", "flux-no-bucket", "bad-yaml", "unknown-key"],
)
def test_bad_sources_file_is_a_clear_startup_error(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    with pytest.raises(SourcesConfigError, match=words):
        configured_sources(OperatorSettings(influx_sources_file=path))


def test_missing_sources_file_is_a_clear_startup_error(tmp_path: Path) -> None:
    with pytest.raises(SourcesConfigError, match="cannot read"):
        configured_sources(OperatorSettings(influx_sources_file=tmp_path / "absent.yaml"))
