"""The dashboard's pages, static files and model endpoint, in-process (no Kubernetes needed).

The app's Kubernetes client points at a closed loopback port: a 401/422 here proves the
request was refused before any Kubernetes call; anything that reached Kubernetes is a 503.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from testkit import free_port

from wattcast.api.core.config import Settings, get_settings
from wattcast.api.dashboard import routes
from wattcast.api.dashboard.settings import (
    DashboardSettings,
    get_dashboard_settings,
)
from wattcast.api.main import create_app

TOKEN = "unit-dashboard-token-42"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _app() -> FastAPI:
    return create_app()


@pytest.fixture
def offline_kubeconfig(tmp_path: Path) -> Path:
    port = free_port()  # nothing listens there
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: offline\n"
        f"clusters: [{{name: offline, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: offline, context: {cluster: offline, user: u}}]\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def client(offline_kubeconfig: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        api_tokens=TOKEN,
        api_kubeconfig=offline_kubeconfig,
        api_kube_timeout_seconds=2,
    )
    app = _app()
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_dashboard_settings] = lambda: DashboardSettings(
        models_dir=tmp_path
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c,
    ):
        yield c


async def test_the_list_page_is_served_without_a_token_and_holds_no_data(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    html = response.text
    assert 'id="login-form"' in html
    assert 'type="password"' in html
    assert "<script>" not in html, "no inline script (the CSP forbids it)"
    assert 'style="' not in html, "no inline style (the CSP forbids it)"
    for phase in ("Pending", "Training", "Succeeded", "Failed", "Cancelled"):
        assert f'<option value="{phase}">' in html


async def test_a_job_page_names_its_job_and_nothing_else(client: httpx.AsyncClient) -> None:
    response = await client.get("/jobs/tj-a1")
    assert response.status_code == 200
    assert 'data-job="tj-a1"' in response.text
    assert "job.js" in response.text


async def test_a_fleet_page_names_its_fleet_and_holds_no_data(client: httpx.AsyncClient) -> None:
    response = await client.get("/fleets/fleet-a1")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == routes.CONTENT_SECURITY_POLICY
    html = response.text
    assert 'data-fleet="fleet-a1"' in html and "fleet.js" in html
    for part in ('id="histogram-chart"', 'id="failures"', 'id="progress"'):
        assert part in html
    assert "<script>" not in html and 'style="' not in html


@pytest.mark.parametrize("page", ["jobs", "fleets"])
@pytest.mark.parametrize("name", ["Bad_Name", "-leading-dash", "x" * 64, "a%20b", "%3Cscript%3E"])
async def test_a_name_that_cannot_be_a_job_gets_a_404_page(
    client: httpx.AsyncClient, name: str, page: str
) -> None:
    response = await client.get(f"/{page}/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "cannot be the name of a TrainingJob" in response.text
    assert "<script>" not in response.text, "the name is escaped, never markup"


async def test_own_static_files_are_served(client: httpx.AsyncClient) -> None:
    for name, kind in (
        ("common.js", "javascript"),
        ("list.js", "javascript"),
        ("job.js", "javascript"),
        ("fleet.js", "javascript"),
        ("dashboard.css", "text/css"),
    ):
        response = await client.get(f"/static/dashboard/{name}")
        assert response.status_code == 200, name
        assert kind in response.headers["content-type"], name


@pytest.mark.skipif(
    not (routes.VENDOR_DIR / "uPlot.iife.min.js").is_file(),
    reason="uPlot is not vendored: run scripts/fetch-js-vendor.sh (make setup)",
)
async def test_the_vendored_chart_library_is_served_and_linked(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/static/dashboard/vendor/uPlot.iife.min.js")
    assert response.status_code == 200
    assert "uPlot" in response.text
    assert "/static/dashboard/vendor/uPlot.iife.min.js" in (await client.get("/")).text


async def test_without_the_chart_library_the_pages_do_not_link_it(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(routes, "VENDOR_DIR", tmp_path / "absent")
    html = (await client.get("/jobs/tj-a1")).text
    assert "uPlot" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/static/dashboard/../routes.py",
        "/static/dashboard/%2e%2e/routes.py",
        "/static/dashboard/vendor/../../settings.py",
        "/static/dashboard/nothing.js",
    ],
)
async def test_nothing_outside_the_static_folder_is_served(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "DashboardSettings" not in response.text


async def test_the_model_endpoint_needs_the_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/trainingjobs/tj-a1/model")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    wrong = await client.get(
        "/v1/trainingjobs/tj-a1/model", headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401


async def test_the_model_endpoint_refuses_a_bad_name_before_kubernetes(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/trainingjobs/Bad_Name/model", headers=AUTH)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


async def test_the_model_endpoint_asks_kubernetes_with_a_good_token(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/trainingjobs/tj-a1/model", headers=AUTH)
    assert response.status_code == 503  # the closed port: it did ask Kubernetes
    assert "Retry-After" in response.headers


def test_models_dir_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WATTCAST_MODELS_DIR", str(tmp_path))
    assert DashboardSettings().models_dir == tmp_path
    monkeypatch.delenv("WATTCAST_MODELS_DIR")
    assert DashboardSettings().models_dir is None


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    schema: dict[str, Any] = _app().openapi()
    return schema


def test_the_pages_stay_out_of_the_openapi_document(openapi: dict[str, Any]) -> None:
    assert "/" not in openapi["paths"]
    assert "/jobs/{name}" not in openapi["paths"]
    assert not [p for p in openapi["paths"] if p.startswith("/static")]


def test_the_model_endpoint_is_documented_like_the_rest(openapi: dict[str, Any]) -> None:
    op = openapi["paths"]["/v1/trainingjobs/{name}/model"]["get"]
    assert op["summary"]
    assert op["security"] == [{"HTTPBearer": []}]
    for code in ("401", "403", "404", "422", "503"):
        ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorPublic"), code
    for param in op["parameters"]:
        assert param.get("description"), param["name"]
    for name in (
        "ModelReportPublic",
        "LossHistoryPublic",
        "HoldoutSeriesPublic",
        "ModelVersionPublic",
    ):
        schema = openapi["components"]["schemas"][name]
        undocumented = [f for f, p in schema["properties"].items() if "description" not in p]
        assert undocumented == [], name


async def test_docs_serve_swagger_ui_from_the_package_under_a_strict_csp(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert csp == routes.CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    html = page.text
    # Nothing from elsewhere, no inline script: every script and stylesheet is ours.
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert "<script>" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(
        s.startswith(("/static/dashboard/", "data:", "/openapi.json")) for s in sources
    )
    assert 'data-openapi-url="/openapi.json"' in html
    for asset in sources:
        if asset.startswith("/static/"):
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert served.headers["content-type"].split(";")[0] in {
                "text/javascript",
                "application/javascript",
                "text/css",
            }


@pytest.mark.parametrize("path", ["/redoc", "/docs/oauth2-redirect"])
async def test_fastapis_cdn_pages_are_gone(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404
