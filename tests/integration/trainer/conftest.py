"""Fixtures of the trainer's integration tests: quiet, fast, isolated settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from trainer_support import clear_settings


@pytest.fixture(autouse=True)
def trainer_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No INFLUX_*/WATTCAST_* leaking in from the outside; status patches without delay."""
    for key in (
        "INFLUX_URL",
        "INFLUX_TOKEN",
        "INFLUX_ORG",
        "INFLUX_BUCKET",
        "INFLUX_DATABASE",
        "INFLUX_DIALECT",
        "WATTCAST_TRAININGJOB_NAME",
        "WATTCAST_TRAININGJOB_NAMESPACE",
        "WATTCAST_MODELS_DIR",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WATTCAST_STATUS_INTERVAL_SECONDS", "0.2")
    clear_settings()
    yield
    clear_settings()
