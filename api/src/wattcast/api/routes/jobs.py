"""The /v1 resource API for TrainingJobs: create, list, get, suspend, resume, cancel, delete.

Lists are filtered by the API server through the CRD's selectable fields (spec.meterId,
spec.meterType, status.phase) and paginated with Kubernetes' limit/continue.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from wattcast.api.auth import require_token
from wattcast.api.controlling import Action, apply
from wattcast.api.deps import (
    ContinueQuery,
    IdempotencyKeyDep,
    KubeDep,
    LimitQuery,
    MetricsDep,
    NamePath,
    NamespaceDep,
    SourceNamesDep,
)
from wattcast.api.errors import error_responses
from wattcast.api.mapping import job_public
from wattcast.api.models import TrainingJobCreate, TrainingJobPublic, TrainingJobsPublic
from wattcast.api.resources import TRAININGJOB
from wattcast.api.routes.shared import create_object, field_selector, list_page
from wattcast.crd import MeterType, Phase
from wattcast.crd.trainingjob import METER_ID_PATTERN

router = APIRouter(prefix="/v1", tags=["trainingjobs"], dependencies=[Depends(require_token)])


@router.post(
    "/trainingjobs",
    response_model=TrainingJobPublic,
    response_model_exclude_none=True,
    status_code=status.HTTP_201_CREATED,
    summary="Create a TrainingJob",
    responses={
        200: {
            "model": TrainingJobPublic,
            "description": "The same submission was made before (same name or Idempotency-Key "
            "and the same spec): its TrainingJob, unchanged.",
        },
        **error_responses(400, 401, 403, 409, 413, 422, 429, 503),
    },
)
async def create_trainingjob(
    body: TrainingJobCreate,
    response: Response,
    kube: KubeDep,
    namespace: NamespaceDep,
    sources: SourceNamesDep,
    metrics: MetricsDep,
    idempotency_key: IdempotencyKeyDep,
) -> TrainingJobPublic:
    """201 once the Kubernetes API accepted the new TrainingJob; 200 for a repeated submission."""
    return await create_object(
        kube,
        TRAININGJOB,
        spec=body.spec(),
        name=body.name,
        response=response,
        namespace=namespace,
        sources=sources,
        metrics=metrics,
        idempotency_key=idempotency_key,
        public=job_public,
    )


@router.get(
    "/trainingjobs",
    response_model=TrainingJobsPublic,
    response_model_exclude_none=True,
    response_model_by_alias=True,
    summary="List TrainingJobs",
    responses=error_responses(400, 401, 403, 410, 422, 429, 503),
)
async def list_trainingjobs(
    kube: KubeDep,
    namespace: NamespaceDep,
    meter_id: Annotated[
        str | None,
        Query(
            alias="meterId",
            description="Only this meter.",
            max_length=128,
            pattern=METER_ID_PATTERN,
        ),
    ] = None,
    meter_type: Annotated[
        MeterType | None, Query(alias="meterType", description="Only this meter type.")
    ] = None,
    phase: Annotated[Phase | None, Query(description="Only TrainingJobs in this phase.")] = None,
    limit: LimitQuery = 100,
    continue_: ContinueQuery = None,
) -> TrainingJobsPublic:
    """One page of TrainingJobs, filtered on the API server."""
    selector = field_selector(
        {"spec.meterId": meter_id, "spec.meterType": meter_type, "status.phase": phase}
    )
    items, next_page = await list_page(
        kube, TRAININGJOB, namespace, selector, limit, continue_, job_public
    )
    return TrainingJobsPublic(items=items, count=len(items), continue_=next_page)


@router.get(
    "/trainingjobs/{name}",
    response_model=TrainingJobPublic,
    response_model_exclude_none=True,
    summary="Get a TrainingJob",
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
async def get_trainingjob(
    name: NamePath, kube: KubeDep, namespace: NamespaceDep
) -> TrainingJobPublic:
    with kube.errors("read", namespace, name):
        obj = await kube.get(namespace, name)
    return job_public(obj)


async def _act(kube: KubeDep, namespace: str, name: str, action: Action) -> TrainingJobPublic:
    return job_public(await apply(kube, namespace, name, action))


@router.post(
    "/trainingjobs/{name}/suspend",
    response_model=TrainingJobPublic,
    response_model_exclude_none=True,
    summary="Suspend a TrainingJob",
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
async def suspend_trainingjob(
    name: NamePath, kube: KubeDep, namespace: NamespaceDep
) -> TrainingJobPublic:
    """Stops the run (its pods go; the record and the Job stay); resume continues it.
    409 once the TrainingJob has finished."""
    return await _act(kube, namespace, name, Action.SUSPEND)


@router.post(
    "/trainingjobs/{name}/resume",
    response_model=TrainingJobPublic,
    response_model_exclude_none=True,
    summary="Resume a suspended TrainingJob",
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
async def resume_trainingjob(
    name: NamePath, kube: KubeDep, namespace: NamespaceDep
) -> TrainingJobPublic:
    """409 when the TrainingJob was cancelled or has finished."""
    return await _act(kube, namespace, name, Action.RESUME)


@router.post(
    "/trainingjobs/{name}/cancel",
    response_model=TrainingJobPublic,
    response_model_exclude_none=True,
    summary="Cancel a TrainingJob for good (REVOKED)",
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
async def cancel_trainingjob(
    name: NamePath, kube: KubeDep, namespace: NamespaceDep
) -> TrainingJobPublic:
    """Suspends it and marks it cancelled: reported as REVOKED, never resumed. The record
    stays (delete removes it). 409 once the TrainingJob has finished."""
    return await _act(kube, namespace, name, Action.CANCEL)


@router.delete(
    "/trainingjobs/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a TrainingJob",
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
async def delete_trainingjob(name: NamePath, kube: KubeDep, namespace: NamespaceDep) -> Response:
    """Deletes the TrainingJob; Kubernetes then removes its Job and pods. The saved model
    stays in the model store."""
    with kube.errors("delete", namespace, name):
        await kube.delete(namespace, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
