"""The API logs JSON lines in a cluster and readable lines on a terminal."""

from __future__ import annotations

import json
import logging

import pytest

from wattcast.api.core.logs import JsonFormatter, logging_config, resolve_format


def test_json_lines_carry_level_logger_message_and_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "wattcast.api.x", logging.ERROR, __file__, 1, "failed %s", ("créer",), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "wattcast.api.x"
    assert entry["message"] == "failed créer"
    assert "ValueError: boom" in entry["exception"]
    assert entry["time"].endswith("+00:00")


@pytest.mark.parametrize(("value", "expected"), [("json", "json"), ("plain", "plain")])
def test_an_explicit_format_wins(value: str, expected: str) -> None:
    assert resolve_format(value) == expected


def test_unset_format_is_json_off_a_terminal() -> None:
    # pytest captures stderr, so this is "not a terminal", as in a container.
    assert resolve_format(None) == "json"


def test_uvicorns_loggers_use_the_same_format() -> None:
    config = logging_config("info", "json")
    assert config["formatters"]["default"]["()"].endswith("JsonFormatter")
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name]["handlers"] == ["default"]
