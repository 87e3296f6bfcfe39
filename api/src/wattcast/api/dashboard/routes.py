"""The dashboard's routes: three HTML pages, their static files, and one JSON endpoint.

- `GET /` (the job list), `GET /jobs/{name}` (one job) and `GET /fleets/{name}` (one
  FleetTrainingJob) are server-rendered shells that hold no data, so they need no token;
  their script asks for the token once, keeps it in sessionStorage and gets every datum
  through the authenticated /v1 API (JSON and SSE).
- `GET /docs`: Swagger UI on the OpenAPI document, from the vendored swagger-ui-dist.
- `/static/dashboard/...`: the dashboard's CSS and JS, and the vendored uPlot and Swagger UI
  (scripts/fetch-js-vendor.sh); nothing is loaded from elsewhere, and the Content-Security-
  Policy of the pages says so to the browser.
- `GET /v1/trainingjobs/{name}/model` (token required): the TrainingJob's saved model as the
  plots need it, read from the model store (WATTCAST_MODELS_DIR, read-only).
"""

from __future__ import annotations

from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from wattcast.api.auth import require_token
from wattcast.api.dashboard.settings import DashboardSettings, get_dashboard_settings
from wattcast.api.dashboard.store import (
    ModelNotFoundError,
    ModelReportPublic,
    ModelStoreError,
    read_model_report,
)
from wattcast.api.deps import KubeDep, NamePath, NamespaceDep
from wattcast.api.errors import ApiProblem, error_responses
from wattcast.api.mapping import phase_of
from wattcast.api.models import Stage
from wattcast.crd import MeterType
from wattcast.crd.modelstore import model_path_of
from wattcast.crd.names import is_dns_label

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
STATIC_PREFIX = "/static/dashboard"

# Everything comes from this origin; no inline script or style, no frames, no plugins.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# What the phase filter offers: the stages the API shows (TrainingJobPublic.stage).
PHASE_CHOICES = [stage.value for stage in Stage]

templates = Jinja2Templates(directory=_HERE / "templates")
router = APIRouter()
router.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR, check_dir=False), name="dashboard")


def _asset_version() -> str:
    """Appended to asset URLs so a new release is never served from a stale cache."""
    try:
        return version("wattcast-api")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _page(
    request: Request, template: str, status_code: int = 200, **context: object
) -> HTMLResponse:
    context = {
        "static": STATIC_PREFIX,
        "asset_version": _asset_version(),
        "charts_available": (VENDOR_DIR / "uPlot.iife.min.js").is_file(),
        **context,
    }
    response = templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=PAGE_HEADERS
    )
    return response


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def job_list_page(request: Request) -> HTMLResponse:
    """The job list: filled and kept live by static/list.js from GET /v1/events."""
    return _page(
        request,
        "list.html",
        phases=PHASE_CHOICES,
        meter_types=[t.value for t in MeterType],
    )


@router.get("/jobs/{name}", response_class=HTMLResponse, include_in_schema=False)
async def job_page(request: Request, name: str) -> HTMLResponse:
    """One job: filled by static/job.js from the /v1 API. A name that cannot be a
    TrainingJob's gets a 404 page (not the API's JSON 422: a person typed it)."""
    if not is_dns_label(name):
        return _page(request, "not_found.html", status_code=404, name=name)
    return _page(request, "job.html", name=name)


@router.get("/fleets/{name}", response_class=HTMLResponse, include_in_schema=False)
async def fleet_page(request: Request, name: str) -> HTMLResponse:
    """One FleetTrainingJob: filled by static/fleet.js from /v1/fleettrainingjobs/{name} and
    its event stream (progress, counts, the failure table, the MAE / baseline histogram)."""
    if not is_dns_label(name):
        return _page(request, "not_found.html", status_code=404, name=name)
    return _page(request, "fleet.html", name=name)


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
async def api_docs_page(request: Request) -> HTMLResponse:
    """Swagger UI on /openapi.json, served from the vendored swagger-ui-dist under the same
    Content-Security-Policy as the dashboard (FastAPI's own /docs loads it from a CDN)."""
    return _page(
        request,
        "docs.html",
        openapi_url=request.app.openapi_url,
        swagger_available=(VENDOR_DIR / "swagger-ui" / "swagger-ui-bundle.js").is_file(),
    )


DashboardSettingsDep = Annotated[DashboardSettings, Depends(get_dashboard_settings)]


@router.get(
    "/v1/trainingjobs/{name}/model",
    response_model=ModelReportPublic,
    response_model_by_alias=True,
    tags=["trainingjobs"],
    summary="The saved model of a TrainingJob: metadata, loss per epoch, holdout series",
    dependencies=[Depends(require_token)],
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
async def get_model_report(
    name: NamePath,
    kube: KubeDep,
    namespace: NamespaceDep,
    settings: DashboardSettingsDep,
) -> ModelReportPublic:
    """What the dashboard plots, read from the model's metadata.json in the model store:
    404 while the TrainingJob has no saved model, or when the API has no model store
    (WATTCAST_MODELS_DIR) or the file is missing."""
    with kube.errors("read", namespace, name):
        obj = await kube.get(namespace, name)
    # Only a model in the TrainingJob's own meter directory is ever served (modelstore).
    model_path = model_path_of(obj.get("status"), obj.get("spec"))
    if model_path is None:
        phase = phase_of(obj)
        raise ApiProblem(
            404,
            f"TrainingJob {name!r} has no saved model in its meter's model directory (phase "
            f"{phase.value if phase else 'not set yet'}); a model exists once it succeeded.",
        )
    if settings.models_dir is None:
        raise ApiProblem(
            404,
            "This API has no model store to read: set WATTCAST_MODELS_DIR to the model "
            "volume (mounted read-only) to see loss curves and holdout plots.",
        )
    try:
        return await anyio.to_thread.run_sync(
            partial(read_model_report, settings.models_dir, model_path)
        )
    except ModelNotFoundError as exc:
        raise ApiProblem(
            404,
            f"The model store has no metadata for {model_path!r} ({exc}): the model was "
            "removed (the trainer keeps a few versions), or WATTCAST_MODELS_DIR is not the "
            "trainer's model volume.",
        ) from None
    except ModelStoreError as exc:
        raise ApiProblem(404, f"The model of TrainingJob {name!r} cannot be read: {exc}.") from None
