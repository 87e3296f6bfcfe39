"""The release workflow builds both images for amd64 and arm64 on a version tag and pushes them
under the names the chart uses by default; actionlint finds nothing in it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from chart_render import CHART, ROOT, one, render

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
ACTIONLINT = ROOT / ".venv" / "bin" / "actionlint"


def workflow() -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1).
    return dict(yaml.safe_load(WORKFLOW.read_text()))


def build_step() -> dict:
    (job,) = workflow()["jobs"].values()
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("docker/build-push")]
    return dict(step)


def test_it_runs_on_version_tags_only() -> None:
    trigger = workflow()[True]
    assert trigger == {"push": {"tags": ["v*.*.*"]}}


def test_it_builds_both_dockerfiles_for_two_architectures_and_pushes() -> None:
    (job,) = workflow()["jobs"].values()
    assert job["strategy"]["matrix"]["image"] == ["operator", "trainer"]
    step = build_step()["with"]
    assert step["file"] == "Dockerfile.${{ matrix.image }}"
    assert step["platforms"] == "linux/amd64,linux/arm64"
    assert step["push"] is True
    assert job["permissions"]["packages"] == "write"


def test_the_pushed_names_are_the_charts_defaults() -> None:
    tag = build_step()["with"]["tags"].strip()
    version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    objects = render()
    operator = one(objects, "Deployment", "wattcast-operator")
    image = operator["spec"]["template"]["spec"]["containers"][0]["image"]
    trainer = one(objects, "ConfigMap", "wattcast-operator")["data"]["WATTCAST_TRAINER_IMAGE"]
    published = {
        tag.replace("${{ matrix.image }}", name).replace(
            "${{ steps.version.outputs.version }}", version
        )
        for name in ("operator", "trainer")
    }
    assert published == {image, trainer}
    # The workflow refuses a tag that is not the chart's appVersion.
    (job,) = workflow()["jobs"].values()
    check = next(s for s in job["steps"] if s.get("id") == "version")
    assert "charts/wattcast/Chart.yaml" in check["run"] and "exit 1" in check["run"]


def test_actionlint_passes() -> None:
    assert Path(ACTIONLINT).exists(), "run make setup (scripts/build-actionlint.sh)"
    done = subprocess.run(
        [str(ACTIONLINT), str(WORKFLOW)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
