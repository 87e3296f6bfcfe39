"""The /v1 resource API for FleetTrainingJobs: create, list, get, suspend, resume, cancel,
delete, and the server-sent events of one fleet.

The same requests and answers as /v1/trainingjobs (docs/api.md): the same bearer token,
namespaces, error shape, Idempotency-Key and name rules, optimistic concurrency and rate
limits, through the same code (submitting, controlling, listing, the event streams), with the
FleetTrainingJob's `ResourceKind`. A bad `meters` (both `ids` and `discover`, an empty list, a
pattern outside the supported regular expressions, more ids than the bound) is refused by the
contract's model with a field-level 422 before anything reaches Kubernetes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from sse_starlette import EventSourceResponse

from wattcast.api.auth import require_token
from wattcast.api.controlling import Action, apply
from wattcast.api.deps import (
    ContinueQuery,
    FleetNamePath,
    IdempotencyKeyDep,
    KubeDep,
    LimitQuery,
    MetricsDep,
    NamespaceDep,
    SettingsDep,
    SourceNamesDep,
)
from wattcast.api.errors import error_responses
from wattcast.api.fleetmapping import fleet_public, fleet_view
from wattcast.api.models import (
    FleetTrainingJobCreate,
    FleetTrainingJobPublic,
    FleetTrainingJobsPublic,
)
from wattcast.api.resources import FLEET
from wattcast.api.routes.events import open_stream, stream_doc
from wattcast.api.routes.shared import create_object, field_selector, list_page
from wattcast.crd import MeterType
from wattcast.crd.fleettrainingjob import FleetPhase

TAG = "fleettrainingjobs"
router = APIRouter(prefix=FLEET.path, tags=[TAG], dependencies=[Depends(require_token)])


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return error_responses(*codes, resource=FLEET)


@router.post(
    "",
    response_model=FleetTrainingJobPublic,
    response_model_exclude_none=True,
    status_code=status.HTTP_201_CREATED,
    summary="Create a FleetTrainingJob",
    responses={
        200: {
            "model": FleetTrainingJobPublic,
            "description": "The same submission was made before (same name or Idempotency-Key "
            "and the same spec): its FleetTrainingJob, unchanged.",
        },
        **_errors(400, 401, 403, 409, 413, 422, 429, 503),
    },
)
async def create_fleettrainingjob(
    body: FleetTrainingJobCreate,
    response: Response,
    kube: KubeDep,
    namespace: NamespaceDep,
    sources: SourceNamesDep,
    metrics: MetricsDep,
    idempotency_key: IdempotencyKeyDep,
) -> FleetTrainingJobPublic:
    """201 once the Kubernetes API accepted the new FleetTrainingJob; 200 for a repeated
    submission."""
    return await create_object(
        kube,
        FLEET,
        spec=body.spec(),
        name=body.name,
        response=response,
        namespace=namespace,
        sources=sources,
        metrics=metrics,
        idempotency_key=idempotency_key,
        public=fleet_public,
    )


@router.get(
    "",
    response_model=FleetTrainingJobsPublic,
    response_model_exclude_none=True,
    response_model_by_alias=True,
    summary="List FleetTrainingJobs",
    responses=_errors(400, 401, 403, 410, 422, 429, 503),
)
async def list_fleettrainingjobs(
    kube: KubeDep,
    namespace: NamespaceDep,
    meter_type: Annotated[
        MeterType | None, Query(alias="meterType", description="Only this meter type.")
    ] = None,
    phase: Annotated[
        FleetPhase | None, Query(description="Only FleetTrainingJobs in this phase.")
    ] = None,
    limit: LimitQuery = 100,
    continue_: ContinueQuery = None,
) -> FleetTrainingJobsPublic:
    """One page of FleetTrainingJobs, filtered on the API server."""
    selector = field_selector({"spec.meterType": meter_type, "status.phase": phase})
    items, next_page = await list_page(
        kube, FLEET, namespace, selector, limit, continue_, fleet_public
    )
    return FleetTrainingJobsPublic(items=items, count=len(items), continue_=next_page)


@router.get(
    "/{name}",
    response_model=FleetTrainingJobPublic,
    response_model_exclude_none=True,
    summary="Get a FleetTrainingJob",
    responses=_errors(401, 403, 404, 422, 429, 503),
)
async def get_fleettrainingjob(
    name: FleetNamePath, kube: KubeDep, namespace: NamespaceDep
) -> FleetTrainingJobPublic:
    """Its state, counts, first failures, MAE / baseline aggregates and histogram, shards."""
    with kube.errors("read", namespace, name, resource=FLEET):
        obj = await kube.get(namespace, name, resource=FLEET)
    return fleet_public(obj)


_ACTIONS = {
    Action.SUSPEND: (
        "Suspend a FleetTrainingJob",
        "Stops the run (its shard pods go; the record, the Job and every meter finished so far "
        "stay); resume continues with the meters left. 409 once it has finished.",
    ),
    Action.RESUME: (
        "Resume a suspended FleetTrainingJob",
        "409 when it was cancelled or has finished.",
    ),
    Action.CANCEL: (
        "Cancel a FleetTrainingJob for good",
        "Suspends it and marks it cancelled: never resumed. Models already saved stay; the "
        "record stays (delete removes it). 409 once it has finished.",
    ),
}


def _action_route(action: Action, summary: str, description: str) -> None:
    async def act(
        name: FleetNamePath, kube: KubeDep, namespace: NamespaceDep
    ) -> FleetTrainingJobPublic:
        return fleet_public(await apply(kube, namespace, name, action, FLEET))

    router.add_api_route(
        f"/{{name}}/{action.value}",
        act,
        methods=["POST"],
        response_model=FleetTrainingJobPublic,
        response_model_exclude_none=True,
        summary=summary,
        description=description,
        name=f"{action.value}_fleettrainingjob",
        operation_id=f"{action.value}_fleettrainingjob",
        responses=_errors(401, 403, 404, 409, 422, 429, 503),
    )


for _action, (_summary, _description) in _ACTIONS.items():
    _action_route(_action, _summary, _description)


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a FleetTrainingJob",
    responses=_errors(401, 403, 404, 422, 429, 503),
)
async def delete_fleettrainingjob(
    name: FleetNamePath, kube: KubeDep, namespace: NamespaceDep
) -> Response:
    """Deletes the FleetTrainingJob; Kubernetes then removes its Job, pods and meter list.
    The saved models stay in the model store."""
    with kube.errors("delete", namespace, name, resource=FLEET):
        await kube.delete(namespace, name, resource=FLEET)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{name}/events",
    summary="Stream status changes of one FleetTrainingJob (SSE)",
    tags=["events"],
    response_class=EventSourceResponse,
    responses={**stream_doc("FleetTrainingJobPublic"), **_errors(401, 403, 404, 422, 429, 503)},
)
async def stream_fleettrainingjob(
    name: FleetNamePath,
    kube: KubeDep,
    namespace: NamespaceDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> EventSourceResponse:
    """Sends the fleet as it is, then each status change (counts, progress, failures,
    shards); ends after it succeeds, fails, is cancelled or is deleted."""
    return await open_stream(
        kube,
        namespace,
        name,
        settings,
        metrics,
        resource=FLEET,
        public=fleet_public,
        view=fleet_view,
    )
