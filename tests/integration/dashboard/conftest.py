"""Fixtures of the dashboard's tests: the API with the dashboard on loopback, against the
dev cluster's real API server, with a model store in a temporary directory; Debian's chromium driven
headless by Playwright (tests marked `browser` skip when /usr/bin/chromium is missing).

- ``models_dir``: an empty model store (tmp dir), read by the API as WATTCAST_MODELS_DIR.
- ``dashboard_url``: base URL of the served app (token ``TOKEN``, the test's namespace).
- ``api``: an ``httpx.Client`` with the token; ``cluster``: status patches and reads on the
  real API server (as admin), as the operator and the trainer make them.
- ``playwright_driver``: the test's sync Playwright (one per test, see there).
- ``desktop`` / ``phone``: a fresh chromium (own user-data dir) at 1280 x 900 / 390 x 844.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_support import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    TOKEN,
    Watched,
    build_app,
    chromium_context,
)
from kubernetes import client, config
from testkit import TrainingJobs

from wattcast.api.core.config import Settings
from wattcast.api.dashboard.settings import DashboardSettings
from wattcast.devtools.cluster.chart import ChartIdentities
from wattcast.devtools.serving import ServedApp


def _needs_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's chromium at /usr/bin/chromium "
            "(make setup installs it: apt-get install chromium)"
        )


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    store = tmp_path / "models"
    store.mkdir()
    return store


@pytest.fixture
def dashboard_url(
    api_kubeconfig: Path, chart_identities: ChartIdentities, namespace: str, models_dir: Path
) -> Iterator[str]:
    chart_identities.grant(namespace, "api")
    settings = Settings(
        api_tokens=TOKEN,
        api_kubeconfig=api_kubeconfig,
        api_namespace=namespace,
        api_kube_timeout_seconds=10,
        api_watch_timeout_seconds=30,
        api_sse_ping_seconds=1,
    )
    served = ServedApp(build_app(settings, DashboardSettings(models_dir=models_dir))).start()
    try:
        yield served.url
    finally:
        served.stop()


@pytest.fixture
def api(dashboard_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=dashboard_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as c:
        yield c


@pytest.fixture
def cluster(kubeconfig: Path, namespace: str) -> Iterator[TrainingJobs]:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    api_client = client.ApiClient(configuration)
    try:
        yield TrainingJobs(client.CustomObjectsApi(api_client), namespace)
    finally:
        api_client.close()


@pytest.fixture
def playwright_driver() -> Iterator[Any]:
    """A sync Playwright for one test (its driver ships in the wheel; no browser is
    downloaded). Never kept across tests: while it runs, its event loop is the thread's
    running loop, which would break the async tests that follow in the same run."""
    _needs_chromium()
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture
def desktop(playwright_driver: Any) -> Iterator[Any]:
    with chromium_context(playwright_driver, DESKTOP) as context:
        yield context


@pytest.fixture
def phone(playwright_driver: Any) -> Iterator[Any]:
    with chromium_context(playwright_driver, PHONE) as context:
        yield context


@pytest.fixture
def watch(dashboard_url: str) -> Iterator[list[Watched]]:
    watched: list[Watched] = []
    yield watched
    for w in watched:
        w.check()
