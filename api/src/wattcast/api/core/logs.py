"""Logging of `wattcast-api`: JSON lines in a cluster, readable lines on a terminal.

WATTCAST_LOG_FORMAT=json|plain chooses; unset, a terminal gets plain and anything else (a
container's stdout) gets JSON. The same configuration covers uvicorn's own loggers, so one
process writes one format.
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["json", "plain"]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def resolve_format(value: str | None) -> LogFormat:
    if value in {"json", "plain"}:
        return "json" if value == "json" else "plain"
    return "plain" if sys.stderr.isatty() else "json"


def logging_config(level: str, fmt: LogFormat) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict for our loggers and uvicorn's (its `log_config`)."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "stream": "ext://sys.stderr",
    }
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            name: {"handlers": ["default"], "level": level, "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure(level: str, fmt: LogFormat) -> dict[str, Any]:
    config = logging_config(level, fmt)
    logging.config.dictConfig(config)
    return config


__all__ = ["JsonFormatter", "LogFormat", "configure", "logging_config", "resolve_format"]
