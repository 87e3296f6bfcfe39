"""Helpers of the dashboard's tests: the API app with the dashboard, served on loopback, a model
store shaped like the trainer's, the dev cluster, and Debian's chromium under Playwright."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from kubernetes import client

from wattcast.api.core.config import Settings, get_settings
from wattcast.api.dashboard.settings import DashboardSettings, get_dashboard_settings
from wattcast.api.main import create_app
from wattcast.crd import constants

TOKEN = "dashboard-token-7c41"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(
    os.environ.get(
        "WATTCAST_SCREENSHOTS_DIR",
        Path(__file__).resolve().parents[3] / "artifacts" / "screenshots",
    )
)


def build_app(settings: Settings, dashboard_settings: DashboardSettings) -> FastAPI:
    """The API app as `wattcast-api` builds it (the dashboard included)."""
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_dashboard_settings] = lambda: dashboard_settings
    return app


class Cluster:
    """The real API server as the operator and trainer see it: status patches, reads."""

    def __init__(self, objects: client.CustomObjectsApi, namespace: str) -> None:
        self.objects = objects
        self.namespace = namespace

    def get(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.objects.get_namespaced_custom_object(
            constants.GROUP, constants.VERSION, self.namespace, constants.PLURAL, name
        )
        return result

    def names(self) -> list[str]:
        listing = self.objects.list_namespaced_custom_object(
            constants.GROUP, constants.VERSION, self.namespace, constants.PLURAL
        )
        return sorted(o["metadata"]["name"] for o in listing["items"])

    def patch_status(self, name: str, status: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.objects.patch_namespaced_custom_object_status(
            constants.GROUP,
            constants.VERSION,
            self.namespace,
            constants.PLURAL,
            name,
            {"status": status},
            _content_type="application/merge-patch+json",
        )
        return result


def job_body(name: str, meter: str, meter_type: str = "electricity") -> dict[str, Any]:
    return {
        "name": name,
        "meterId": meter,
        "meterType": meter_type,
        "start": "2025-01-01T00:00:00Z",
        "end": "2025-03-01T00:00:00Z",
        "model": {"epochs": 12},
    }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


METRICS = {
    "holdout": {"start": "2025-02-15T00:00:00Z", "end": "2025-03-01T00:00:00Z", "points": 336},
    "model": {"mae": 0.21, "rmse": 0.29, "smape": 11.4},
    "baselines": {
        "naiveDaily": {"mae": 0.33, "rmse": 0.45, "smape": 17.9},
        "naiveWeekly": {"mae": 0.3, "rmse": 0.41, "smape": 15.2},
    },
}


def metadata(job_name: str, *, epochs: int = 12, points: int = 336) -> dict[str, Any]:
    """A metadata.json as the trainer writes it (wattcast.trainer.running._metadata: loss per
    epoch in `history`, the holdout series in `holdoutSeries`), trimmed to what is shown."""
    start = datetime(2025, 2, 15, tzinfo=UTC)
    times = [start + timedelta(hours=i) for i in range(points)]

    def load(i: int, shift: float = 0.0) -> float:
        hour = (i + shift) % 24
        return round(1.2 + 0.8 * math.sin(math.pi * hour / 12) + 0.1 * ((i // 24) % 7), 6)

    actual: list[float | None] = [load(i) for i in range(points)]
    actual[40] = None  # a missing reading: the plot shows a gap
    return {
        "meter": {"id": "meter-dash", "type": "electricity"},
        "dataRange": {"start": "2025-01-01T00:00:00Z", "end": "2025-03-01T00:00:00Z"},
        "features": ["lag24", "lag168", "hourOfDay", "dayOfWeek", "temperature"],
        "metrics": METRICS,
        "libraries": {"python": "3.11.14", "keras": "3.13.0", "tensorflow-cpu": "2.21.0"},
        "trainingJob": {
            "name": job_name,
            "namespace": "default",
            "uid": "0d6c0c9e-1111-4a1e-9c55-5a0c55e7b001",
        },
        "trainingCompleted": "2025-03-01T00:10:00+00:00",
        "history": {
            "loss": [round(1.0 / (1 + 0.6 * e), 5) for e in range(epochs)],
            "val_loss": [round(1.1 / (1 + 0.5 * e), 5) for e in range(epochs)],
        },
        "holdoutSeries": {
            "timestamps": [iso(t) for t in times],
            "actual": actual,
            "forecast": [load(i, 0.3) for i in range(points)],
            "naiveDaily": [load(i - 24) for i in range(points)],
            "naiveWeekly": [round(0.85 * load(i - 168, -1.5) + 0.2, 6) for i in range(points)],
        },
    }


def write_model(
    store: Path, meter_type: str, meter: str, version: str, job_name: str, *, current: bool
) -> str:
    """Write a model version into the store; returns its modelPath (relative to the store)."""
    version_dir = store / meter_type / meter / "versions" / version
    version_dir.mkdir(parents=True, exist_ok=True)
    (version_dir / "model.keras").write_bytes(b"not a real keras file")
    (version_dir / "metadata.json").write_text(json.dumps(metadata(job_name)), encoding="utf-8")
    if current:
        link = store / meter_type / meter / "current"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(Path("versions") / version)
    return f"{meter_type}/{meter}/versions/{version}/model.keras"


@contextmanager
def chromium_context(playwright: Any, viewport: dict[str, int]) -> Iterator[Any]:
    """A fresh headless Debian chromium (its own user-data dir) with one browser context.

    `playwright` is the session's one sync Playwright (two cannot run in one thread)."""
    with tempfile.TemporaryDirectory(prefix="wattcast-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=viewport,
            device_scale_factor=1,
            locale="en-GB",
            timezone_id="UTC",
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
