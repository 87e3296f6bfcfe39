"""scripts/build-images.sh (`make images`) says why it cannot build, before building anything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "build-images.sh"


def run(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WATTCAST_IMAGE_BUILDER": ""}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )


def test_an_unknown_argument_is_refused() -> None:
    done = run("--fast")
    assert done.returncode == 2
    assert "unknown argument: --fast" in done.stderr


def test_a_builder_that_is_not_here_is_named(tmp_path: Path) -> None:
    done = run("--builder", "podman", path=str(tmp_path))
    assert done.returncode == 2
    assert "podman is not usable here" in done.stderr


def test_without_any_builder_it_says_what_to_install(tmp_path: Path) -> None:
    done = run(path=str(tmp_path))
    assert done.returncode == 2
    assert "no image builder" in done.stderr and "apt-get install buildah" in done.stderr
