"""`helm template` of charts/wattcast for the chart's unit tests, by values or value files."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "wattcast"
HELM = ROOT / ".venv" / "bin" / "helm"
NAMESPACE = "wattcast-system"
RELEASE = "wattcast"


def render_text(
    values: dict[str, Any] | None = None, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`helm template` with `values` (as a values file, so types are kept) and extra args."""
    return subprocess.run(
        [
            str(HELM),
            "template",
            RELEASE,
            str(CHART),
            "--namespace",
            NAMESPACE,
            "--values",
            "-",
            *extra,
        ],
        input=yaml.safe_dump(values or {}),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def render(values: dict[str, Any] | None = None, *extra: str) -> list[dict[str, Any]]:
    done = render_text(values, *extra)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def kinds(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objects}
