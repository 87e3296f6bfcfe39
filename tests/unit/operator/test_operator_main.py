"""`wattcast-operator` refuses a bad configuration at once, with a clear message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wattcast.operator.main import main
from wattcast.operator.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_invalid_setting_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATTCAST_INFLUX_TOKEN_SECRET", "no-key-here")
    assert main([]) == 2
    assert "influx_token_secret" in capsys.readouterr().err


def test_bad_sources_file_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("- {name: a, url: 'http://a', dialect: influxql}\n")
    monkeypatch.setenv("WATTCAST_INFLUX_SOURCES_FILE", str(path))
    assert main([]) == 2
    assert "an influxql source needs a database" in capsys.readouterr().err


def test_no_kubernetes_configuration_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main([]) == 2
    assert "no Kubernetes configuration" in capsys.readouterr().err
