"""No module of the trainer or the shared forecasting package grows past 400 lines (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = [ROOT / "trainer/src/wattcast/trainer", ROOT / "forecasting/src/wattcast/forecasting"]
MAX_LINES = 400


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_every_module_is_at_most_400_lines(package: Path) -> None:
    modules = sorted(package.rglob("*.py"))
    assert len(modules) > 5
    too_long = {
        str(m.relative_to(ROOT)): n
        for m in modules
        if (n := len(m.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}
