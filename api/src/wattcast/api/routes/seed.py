"""The seed's endpoints, same requests and same answers (docs/seed.md), on TrainingJobs.

POST /trainmodel/v2/ creates a TrainingJob named by a UUID (the task_id);
GET /trainmodel/status/{task_id} reads it back in the seed's words (docs/design.md §2.1).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from wattcast.api.auth import require_token
from wattcast.api.deps import (
    IdempotencyKeyDep,
    KubeDep,
    MetricsDep,
    NamePath,
    NamespaceDep,
    SourceNamesDep,
)
from wattcast.api.errors import error_responses
from wattcast.api.mapping import task_public
from wattcast.api.models import TaskPublic, TrainModelCreate
from wattcast.api.submitting import submit
from wattcast.api.validating import build_spec, check_spec

router = APIRouter(prefix="/trainmodel", tags=["seed"], dependencies=[Depends(require_token)])

_SEED_NAMES = {"start": "start_date", "end": "end_date"}


@router.post(
    "/v2/",
    response_model=TaskPublic,
    response_model_exclude_none=True,
    summary="Start a training task (the seed's endpoint)",
    responses=error_responses(401, 403, 409, 413, 422, 429, 503),
)
async def start_training(
    body: TrainModelCreate,
    kube: KubeDep,
    namespace: NamespaceDep,
    sources: SourceNamesDep,
    metrics: MetricsDep,
    idempotency_key: IdempotencyKeyDep,
) -> TaskPublic:
    """Creates a TrainingJob for the meter and range; answers once Kubernetes has accepted it.

    Send an `Idempotency-Key` to make a retry return the same task instead of a second one.
    """
    spec = build_spec(
        {
            "meter_id": body.meter_id,
            "meter_type": body.meter_type,
            "start": body.start_date,
            "end": body.end_date,
        },
        rename=_SEED_NAMES,
    )
    check_spec(spec, source_names=sources)
    submission = await submit(
        kube, namespace=namespace, spec=spec, name=None, idempotency_key=idempotency_key
    )
    metrics.submissions.labels("created" if submission.created else "replayed").inc()
    return task_public(submission.obj)


@router.get(
    "/status/{task_id}",
    response_model=TaskPublic,
    response_model_exclude_none=True,
    summary="Status of a training task (the seed's endpoint)",
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
async def training_status(
    task_id: NamePath,
    kube: KubeDep,
    namespace: NamespaceDep,
) -> TaskPublic:
    """Status word, progress and, once finished, the result (success or failure)."""
    with kube.errors("read", namespace, task_id):
        obj = await kube.get(namespace, task_id)
    return task_public(obj)
