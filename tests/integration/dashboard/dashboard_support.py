"""Helpers of the dashboard's tests: the API app with the dashboard, served on loopback, a model
store shaped like the trainer's, the dev cluster, and Debian's chromium under Playwright."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from wattcast.api.core.config import Settings, get_settings
from wattcast.api.dashboard.settings import DashboardSettings, get_dashboard_settings
from wattcast.api.main import create_app
from wattcast.devtools.testbed.modelstore import sample_metadata

if TYPE_CHECKING:  # playwright is imported by the browser tests only, when they run
    from playwright.sync_api import Page

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
    """A metadata.json as the trainer writes it (the model store contract), with the holdout
    and loss this page shows."""
    data = sample_metadata(meter_id="meter-dash", job_name=job_name, epochs=epochs, points=points)
    data["metrics"] = {**data["metrics"], **METRICS}
    return data


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


class Watched:
    """A page and what it did: console errors, page errors, every request URL."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.urls.append(r.url))

    def _console(self, message: Any) -> None:
        # Refused API calls (401 on a wrong token) are logged by chromium as "Failed to load
        # resource"; they are expected and asserted on their own. Anything else is a bug.
        if message.type in {"error", "warning"} and not message.text.startswith(
            "Failed to load resource"
        ):
            self.errors.append(message.text)

    def check(self) -> None:
        assert self.errors == []
        assert self.urls, "the page made no request"
        foreign = [u for u in self.urls if not u.startswith(self.origin)]
        assert foreign == [], "the dashboard must load nothing from elsewhere"
        assert not [u for u in self.urls if TOKEN in u], "the token must never be in a URL"


def open_page(context: Any, url: str, watch: list[Watched], origin: str) -> Page:
    page: Page = context.new_page()
    watch.append(Watched(page, origin))
    page.goto(url)
    return page


def sign_in(page: Page, token: str = TOKEN) -> None:
    """Type the token and press Enter, as a keyboard user does."""
    from playwright.sync_api import expect

    field = page.get_by_label("API token")
    expect(field).to_be_focused()
    field.fill(token)
    field.press("Enter")
