"""FleetTrainingJob objects -> what the REST API shows (FleetTrainingJobPublic). Pure
functions of the object's JSON, built on the TrainingJob mapping's shared parts
(`wattcast.api.mapping`): the same metadata fields, cancellation, lenient status parsing and
redaction. Failure messages of meters come from shard pods and pass `redacted` too.
"""

from __future__ import annotations

from typing import Any

from wattcast.api.mapping import (
    failure_reason,
    lenient,
    object_fields,
    phase_as,
    redacted_messages,
    spec_as,
)
from wattcast.api.models import FleetStage, FleetTrainingJobPublic
from wattcast.crd import constants
from wattcast.crd.fleettrainingjob import (
    FleetPhase,
    FleetTrainingJobSpec,
    FleetTrainingJobStatus,
)

PHASE_TO_STAGE: dict[FleetPhase, FleetStage] = {
    FleetPhase.PENDING: FleetStage.PENDING,
    FleetPhase.DISCOVERING: FleetStage.DISCOVERING,
    FleetPhase.RUNNING: FleetStage.RUNNING,
    FleetPhase.SUSPENDED: FleetStage.SUSPENDED,
    FleetPhase.SUCCEEDED: FleetStage.SUCCEEDED,
    FleetPhase.FAILED: FleetStage.FAILED,
}


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def fleet_phase(obj: dict[str, Any]) -> FleetPhase | None:
    return phase_as(obj, FleetPhase)


def fleet_stage(obj: dict[str, Any], cancelled: bool) -> FleetStage:
    """A finished phase wins over cancellation (a fleet that finished before the cancel
    arrived did finish); no phase yet is Pending."""
    phase = fleet_phase(obj)
    if phase is not None and phase.is_terminal:
        return PHASE_TO_STAGE[phase]
    if cancelled:
        return FleetStage.CANCELLED
    return PHASE_TO_STAGE[phase] if phase is not None else FleetStage.PENDING


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def parse_fleet_status(obj: dict[str, Any]) -> FleetTrainingJobStatus | None:
    raw = _status(obj)
    if not raw:
        return None
    name = (obj.get("metadata") or {}).get("name")
    return lenient(
        FleetTrainingJobStatus,
        redacted_messages(raw, ("conditions", "failures")),
        f"{constants.FLEET_KIND} {name}",
    )


def fleet_public(obj: dict[str, Any]) -> FleetTrainingJobPublic:
    """A FleetTrainingJob object as the /v1 API shows it."""
    fields = object_fields(obj)
    stage = fleet_stage(obj, fields["cancelled"])
    progress = _status(obj).get("progress")
    progress = progress if isinstance(progress, dict) else {}
    percent = _count(progress.get("percent")) or 0
    if stage is FleetStage.SUCCEEDED:
        percent = 100
    reason, failure = failure_reason(obj) if stage is FleetStage.FAILED else (None, None)
    return FleetTrainingJobPublic(
        **fields,
        stage=stage,
        finished=stage in {FleetStage.SUCCEEDED, FleetStage.FAILED, FleetStage.CANCELLED},
        phase=fleet_phase(obj),
        progress=min(100, percent),
        meters_finished=_count(progress.get("finished")) or 0,
        meters_total=_count(progress.get("total")),
        failure_reason=reason,
        failure_message=failure,
        spec=spec_as(obj, FleetTrainingJobSpec, constants.FLEET_KIND),
        status=parse_fleet_status(obj),
    )


def fleet_view(public: FleetTrainingJobPublic) -> tuple[object, ...]:
    """What a client of the event stream sees change: everything but the resourceVersion
    (each status write of the operator is news: counts, failures, shards)."""
    return (public.model_dump_json(exclude={"resource_version"}),)
