"""The wattcast REST API: `create_app()` for any ASGI server, `wattcast-api` to run it.

    wattcast-api --host 0.0.0.0 --port 8000
    uvicorn --factory wattcast.api.main:create_app

Settings are read when the app starts (its lifespan), never at import time; tests replace
them with `app.dependency_overrides[get_settings]`. `/` and `/jobs/...` are left free for the
dashboard (HTML); JSON lives under /trainmodel (the seed's paths) and /v1.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from importlib.metadata import PackageNotFoundError, version

import anyio
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from wattcast.api import dashboard
from wattcast.api.auth import Authenticator
from wattcast.api.core import logs
from wattcast.api.core.config import Settings, get_settings
from wattcast.api.core.connections import (
    ConnectionLimits,
    guarded_protocol,
    raise_open_files_limit,
)
from wattcast.api.dashboard.settings import get_dashboard_settings
from wattcast.api.errors import ApiProblem, field_errors, invalid
from wattcast.api.kube import KubeClient
from wattcast.api.metrics import ApiMetrics
from wattcast.api.middleware import (
    BodyLimitMiddleware,
    InFlightLimitMiddleware,
    MetricsMiddleware,
)
from wattcast.api.resources import FLEET, FLEET_MAX_BODY_BYTES
from wattcast.api.routes import events, fleets, forecasts, health, jobs, seed
from wattcast.crd.kubeapi import load_configuration
from wattcast.forecasting.forecasters import keras_for_serving

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Trains energy-forecasting models as Kubernetes TrainingJobs.

* **Seed endpoints** (`/trainmodel/...`): the original Celery API's requests and answers,
  unchanged; `task_id` is the TrainingJob's name.
* **Resource API** (`/v1/...`): create, list, get, suspend, resume, cancel, delete, and
  server-sent-event streams of status changes, of TrainingJobs (`/v1/trainingjobs`, one meter)
  and FleetTrainingJobs (`/v1/fleettrainingjobs`, many meters in one Indexed Job).

Every endpoint except `/healthz`, `/readyz` and `/metrics` needs `Authorization: Bearer <token>`.
Errors are always JSON: `{"detail": "...", "code": "...", "errors": [...]}`.
"""


def _version() -> str:
    try:
        return version("wattcast-api")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def _settings_of(app: FastAPI) -> Settings:
    """The settings the routes see: an override (tests) or the cached getter."""
    provider: Callable[[], Settings] = app.dependency_overrides.get(get_settings, get_settings)
    return provider()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = _settings_of(app)
    app.state.max_body_bytes = settings.api_max_body_bytes
    app.state.body_timeout_seconds = settings.api_body_timeout_seconds
    app.state.max_requests = settings.api_max_requests
    app.state.retry_after_seconds = settings.api_retry_after_seconds
    app.state.authenticator = Authenticator(settings.tokens(), disabled=settings.api_auth_disabled)
    app.state.source_names = settings.source_names()
    configuration = await anyio.to_thread.run_sync(
        partial(load_configuration, settings.api_kubeconfig)
    )
    kube = KubeClient(
        configuration,
        timeout_seconds=settings.api_kube_timeout_seconds,
        concurrency=settings.api_kube_concurrency,
        max_streams=settings.api_max_streams,
        watch_timeout_seconds=settings.api_watch_timeout_seconds,
        retry_after_seconds=settings.api_retry_after_seconds,
    )
    app.state.kube = kube
    logger.info(
        "wattcast API ready: namespaces %s, sources %s",
        ", ".join(settings.allowed_namespaces),
        ", ".join(sorted(app.state.source_names)),
    )
    try:
        yield
    finally:
        kube.close()


def _problem_handler(app: FastAPI) -> Callable[[Request, Exception], JSONResponse]:
    def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        if exc.status_code in {429, 502, 503}:
            metrics: ApiMetrics = app.state.metrics
            metrics.kube_errors.labels(str(exc.status_code)).inc()
        return exc.response()

    return handle


def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return invalid(field_errors(exc.errors())).response()


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path, asked of the routes themselves. Starlette
    names only the methods of the first route that matches the path, and FastAPI makes one
    route per method (GET and DELETE of /v1/trainingjobs/{name} are two)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        detail = (
            f"No endpoint at {request.url.path}. The API serves /trainmodel/v2/, "
            "/trainmodel/status/{task_id} and /v1/...; see /docs."
        )
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
        detail = f"{request.method} is not served at {request.url.path}; Allow lists what is."
    return ApiProblem(exc.status_code, detail, headers=headers).response()


def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("Unexpected error on %s %s", request.method, request.url.path)
    return ApiProblem(500, "Internal error; the API's log has the details.").response()


def create_app() -> FastAPI:
    """A new app. Its settings are read when it starts, from overrides or the environment."""
    app = FastAPI(
        title="wattcast API",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs is the dashboard's page with the vendored Swagger UI (FastAPI's loads it, and
        # ReDoc, from a CDN); no OAuth2 redirect page: tokens are bearer tokens.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_tags=[
            {"name": "seed", "description": "The original API's endpoints, same shapes."},
            {"name": "trainingjobs", "description": "The TrainingJob resource API."},
            {
                "name": fleets.TAG,
                "description": "The FleetTrainingJob resource API: the models of many meters.",
            },
            {"name": "events", "description": "Server-sent events of status changes."},
            {"name": "forecasts", "description": "Forecasts from the meters' current models."},
            {"name": "health", "description": "Probes and metrics; no token needed."},
        ],
    )
    app.state.metrics = ApiMetrics()
    app.include_router(seed.router)
    app.include_router(jobs.router)
    app.include_router(events.router)
    app.include_router(fleets.router)
    app.include_router(forecasts.router)
    app.include_router(health.router)
    app.include_router(dashboard.router)
    app.add_exception_handler(ApiProblem, _problem_handler(app))
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
    # Added innermost first: metrics see every answer, the in-flight limit's 503 and the body
    # limit's 413 and 408 included.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=lambda: app.state.max_body_bytes,
        timeout=lambda: app.state.body_timeout_seconds,
        floors={FLEET.path: FLEET_MAX_BODY_BYTES},
    )
    app.add_middleware(
        InFlightLimitMiddleware,
        max_requests=lambda: app.state.max_requests,
        retry_after=lambda: app.state.retry_after_seconds,
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def _warm_forecasting() -> None:
    _, seconds = keras_for_serving()
    logger.info("forecasting path ready: Keras imported in %.1f s", seconds)


def main(argv: Sequence[str] | None = None) -> None:
    """`wattcast-api --host H --port P`."""
    parser = argparse.ArgumentParser(prog="wattcast-api", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    log_config = logs.configure(args.log_level, logs.resolve_format(settings.log_format))
    if get_dashboard_settings().models_dir is not None:
        # Keras (numpy backend) takes seconds to import: do it while the server starts, so
        # the first forecast does not pay it. Only in the API's own process: an app built
        # in a test process must not choose Keras' backend for that process.
        threading.Thread(target=_warm_forecasting, name="warm-forecasting", daemon=True).start()
    raise_open_files_limit(settings.api_max_connections)
    limits = ConnectionLimits(
        header_timeout=settings.api_header_timeout_seconds,
        keep_alive=settings.api_keep_alive_seconds,
        max_header_bytes=settings.api_max_header_bytes,
        max_connections=settings.api_max_connections,
    )
    uvicorn.run(
        create_app,
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=log_config,
        # httptools with the connection guard (wattcast.api.core.connections): header and
        # idle timeouts, a header size limit, a connection limit that keeps probes served.
        http=guarded_protocol(limits),
        ws="none",
        timeout_keep_alive=settings.api_keep_alive_seconds,
        # Requests in flight are limited by InFlightLimitMiddleware, which spares the probes.
        limit_concurrency=None,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
