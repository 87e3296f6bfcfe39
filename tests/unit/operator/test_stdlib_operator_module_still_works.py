"""Nothing of ours is importable as `operator` (docs/design.md §1): the standard library's module
must keep working from the repository root and under pytest, where `operator/` is a folder."""

import operator
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_stdlib_operator_works_under_pytest() -> None:
    assert operator.add(2, 3) == 5
    assert operator.itemgetter(1)("ab") == "b"
    assert Path(operator.__file__).parent != REPO_ROOT / "operator"


def test_stdlib_operator_works_from_the_repo_root() -> None:
    code = (
        "import operator, pathlib; "
        "assert operator.mul(6, 7) == 42; "
        "import wattcast.operator; "
        "print(pathlib.Path(operator.__file__).name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "operator.py"


def test_operator_folder_is_not_a_package() -> None:
    assert not (REPO_ROOT / "operator" / "__init__.py").exists()
    assert not (REPO_ROOT / "operator" / "src" / "wattcast" / "__init__.py").exists()
