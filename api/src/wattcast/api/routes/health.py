"""Liveness, readiness and Prometheus metrics; open to all (no token), as probes need."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wattcast.api.deps import KubeDep, MetricsDep, SettingsDep
from wattcast.api.errors import problem_for
from wattcast.api.models import HealthPublic
from wattcast.crd.kubeapi import KubeApiError

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic, summary="Liveness")
async def healthz() -> HealthPublic:
    """200 while the process serves requests (it checks nothing else, so that a Kubernetes
    API outage never gets the API restarted)."""
    return HealthPublic(status="ok")


@router.get(
    "/readyz",
    response_model=HealthPublic,
    summary="Readiness: the Kubernetes API answers",
    responses={503: {"model": HealthPublic, "description": "Not ready (the log says why)."}},
)
async def readyz(kube: KubeDep, settings: SettingsDep) -> Response:
    """200 when TrainingJobs can be listed in the default namespace: the Kubernetes API is
    reachable, the CRD is installed and the API's identity may read it. Open to anyone, so it
    says only ready or not; why not goes to the log."""
    try:
        await kube.check_ready(settings.api_namespace)
    except KubeApiError as err:
        problem = problem_for(err, action="list", namespace=settings.api_namespace)
        logger.warning("Not ready: %s", problem.detail)
        return JSONResponse(HealthPublic(status="unavailable").model_dump(), status_code=503)
    return JSONResponse(HealthPublic(status="ok").model_dump())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
)
async def metrics_endpoint(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
