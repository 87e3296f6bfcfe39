"""Unit tests sit in one folder per component, and no two test modules share a file name (pytest
imports them by base name: a second one of the same name would fail the whole collection)."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]
COMPONENTS = {
    "api",
    "cli",
    "crd",
    "operator",
    "trainer",
    "forecasting",
    "chart",
    "devtools",
    "docs",
}


def test_every_unit_test_sits_in_a_component_folder() -> None:
    misplaced = [
        path.relative_to(TESTS).as_posix()
        for path in (TESTS / "unit").rglob("test_*.py")
        if path.parent.parent != TESTS / "unit" or path.parent.name not in COMPONENTS
    ]
    assert misplaced == [], f"move them into tests/unit/<component>/ ({sorted(COMPONENTS)})"


def test_no_two_test_modules_share_a_name() -> None:
    names = Counter(path.name for path in TESTS.rglob("*.py") if path.name != "conftest.py")
    assert [name for name, count in names.items() if count > 1] == []
