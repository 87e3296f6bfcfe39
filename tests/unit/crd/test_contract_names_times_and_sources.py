"""The contract's helpers every component shares: Kubernetes name rules, timestamps, and the
administrator's sources file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from wattcast.crd import constants
from wattcast.crd.influx_sources import SourcesConfigError, load_sources_file
from wattcast.crd.names import DNS_LABEL_MAX_LENGTH, is_dns_label, is_label_value
from wattcast.crd.times import now_utc, parse_rfc3339, rfc3339

# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("tj-1", True),
        ("a1b2c3d4-e5f6-7890-abcd-1234567890ab", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("Tj", False),
        ("-tj", False),
        ("tj-", False),
        ("tj_1", False),
        ("tj.1", False),
        ("", False),
        ("tj\n", False),
    ],
    ids=[
        "plain",
        "uuid",
        "longest",
        "too-long",
        "upper",
        "leading-dash",
        "trailing-dash",
        "underscore",
        "dot",
        "empty",
        "trailing-newline",
    ],
)
def test_dns_labels(value: str, ok: bool) -> None:
    assert is_dns_label(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("meter1", True),
        ("W-0042.north_3", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("W-0042:north", False),
        ("_x", False),
        ("x.", False),
        ("x\n", False),
    ],
    ids=["plain", "dots-dashes", "longest", "too-long", "colon", "leading-", "trailing.", "nl"],
)
def test_label_values(value: str, ok: bool) -> None:
    assert is_label_value(value) is ok


def test_a_trainingjob_name_is_a_dns_label() -> None:
    assert constants.MAX_NAME_LENGTH == DNS_LABEL_MAX_LENGTH == 63


# --- times ---------------------------------------------------------------------------------


def test_now_is_utc_to_the_second() -> None:
    now = now_utc()
    assert now.tzinfo is UTC
    assert now.microsecond == 0


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05Z"),
        (
            datetime(2024, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1))),
            "2024-01-02T03:04:05Z",
        ),
        (datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC), "2024-01-02T03:04:05.250000Z"),
    ],
    ids=["utc", "offset", "fraction"],
)
def test_rfc3339_is_utc_with_z(moment: datetime, text: str) -> None:
    assert rfc3339(moment) == text
    assert parse_rfc3339(text) == moment


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        rfc3339(datetime(2024, 1, 1))


@pytest.mark.parametrize(
    "value",
    [None, 17, "", "yesterday", "2024-01-02T03:04:05", "2024-13-01T00:00:00Z"],
    ids=["none", "number", "empty", "words", "naive", "month-13"],
)
def test_what_is_not_an_rfc3339_time_parses_to_none(value: object) -> None:
    assert parse_rfc3339(value) is None


def test_an_offset_parses_to_the_same_instant() -> None:
    assert parse_rfc3339("2024-01-02T04:04:05+01:00") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


# --- the sources file ----------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sources_file_is_a_list_of_contract_sources(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- name: archive\n  url: http://influx-archive:8086\n  dialect: influxql\n"
        "  database: energy\n"
        "- name: live\n  url: https://influx:8086\n  org: o\n  bucket: energy_data\n"
        "  tokenSecret: {name: influx-live, key: token}\n",
    )
    sources = load_sources_file(path)
    assert [s.name for s in sources] == ["archive", "live"]
    assert sources[1].token_secret is not None
    assert sources[1].token_secret.name == "influx-live"


def test_an_empty_sources_file_is_no_sources(tmp_path: Path) -> None:
    assert load_sources_file(write(tmp_path, "")) == []


def test_a_source_without_a_name_is_the_default_one(tmp_path: Path) -> None:
    (source,) = load_sources_file(write(tmp_path, "- {url: 'http://a', bucket: b}\n"))
    assert source.name == constants.DEFAULT_SOURCE_NAME == "default"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: x\n", "valid list"),
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
    ids=[
        "not-a-list",
        "bad-url",
        "duplicate",
        "influxql-no-db",
        "flux-no-bucket",
        "bad-yaml",
        "unknown-key",
    ],
)
def test_a_bad_sources_file_says_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(SourcesConfigError, match=words):
        load_sources_file(write(tmp_path, text))


def test_a_missing_sources_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(SourcesConfigError, match="cannot read"):
        load_sources_file(tmp_path / "absent.yaml")
