"""TrainingJob objects -> what the REST API shows: the seed's status words and result shapes
(docs/design.md §2.1), and the /v1 resource view. Pure functions of the object's JSON.

Messages (status, conditions) are shown redacted (`wattcast.crd.messages`): the operator and
the trainer write them without addresses, and what a pod wrote otherwise is not passed on.
A result whose `modelPath` is not in the TrainingJob's own meter directory
(`wattcast.crd.modelstore`) is shown as no result: a trainer pod wrote it, and the API never
points anyone at another meter's model.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from wattcast.api.models import (
    FailureDetails,
    Stage,
    SuccessDetails,
    TaskPublic,
    TaskResultPublic,
    TaskStatus,
    TrainingJobPublic,
)
from wattcast.crd import (
    ConditionType,
    MeterType,
    Phase,
    TrainingJobSpec,
    TrainingJobStatus,
    constants,
)
from wattcast.crd.conditions import find_condition
from wattcast.crd.fieldtypes import ContractModel
from wattcast.crd.messages import redacted
from wattcast.crd.modelstore import model_path_of

logger = logging.getLogger(__name__)
_Model = TypeVar("_Model", bound=BaseModel)
_Phase = TypeVar("_Phase", bound=StrEnum)

PHASE_TO_STATUS: dict[Phase, TaskStatus] = {
    Phase.PENDING: TaskStatus.PENDING,
    Phase.QUEUED: TaskStatus.QUEUED,
    Phase.SUSPENDED: TaskStatus.SUSPENDED,
    Phase.PROCESSING_DATA: TaskStatus.PROCESSING_DATA,
    Phase.TRAINING: TaskStatus.TRAINING,
    Phase.SAVING: TaskStatus.SAVING_MODEL,
    Phase.SUCCEEDED: TaskStatus.SUCCESS,
    Phase.FAILED: TaskStatus.FAILURE,
}
STATUS_TO_STAGE: dict[TaskStatus, Stage] = {
    TaskStatus.PENDING: Stage.PENDING,
    TaskStatus.QUEUED: Stage.QUEUED,
    TaskStatus.SUSPENDED: Stage.SUSPENDED,
    TaskStatus.PROCESSING_DATA: Stage.PROCESSING_DATA,
    TaskStatus.TRAINING: Stage.TRAINING,
    TaskStatus.SAVING_MODEL: Stage.SAVING_MODEL,
    TaskStatus.SUCCESS: Stage.SUCCEEDED,
    TaskStatus.FAILURE: Stage.FAILED,
    TaskStatus.REVOKED: Stage.CANCELLED,
}
# Nothing changes any more: a cancelled job is never resumed.
FINISHED_STATUSES = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.REVOKED})
# Where a person finds the saved model, in the seed's words ("models/electricity/meter1.h5").
MODEL_PATH_PREFIX = "models/"
UNKNOWN_REASON = "Unknown"


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def phase_of(obj: dict[str, Any]) -> Phase | None:
    """status.phase, or None before the operator wrote one (or if it is not ours)."""
    return phase_as(obj, Phase)


def phase_as(obj: dict[str, Any], phases: type[_Phase]) -> _Phase | None:
    """status.phase as one of `phases` (a kind's phase enum), else None."""
    try:
        return phases(str(_status(obj).get("phase")))
    except ValueError:
        return None


def is_cancelled(obj: dict[str, Any]) -> bool:
    """Cancelled = the annotation (with spec.suspend true): constants.ANNOTATION_CANCELLED."""
    annotations = _metadata(obj).get("annotations") or {}
    return str(annotations.get(constants.ANNOTATION_CANCELLED, "")).lower() == "true"


def task_status(obj: dict[str, Any]) -> TaskStatus:
    """The seed's status word. A finished phase wins over cancellation: a job that succeeded
    before the cancel arrived did succeed. No phase yet means PENDING (just created)."""
    phase = phase_of(obj)
    if phase is not None and phase.is_terminal:
        return PHASE_TO_STATUS[phase]
    if is_cancelled(obj):
        return TaskStatus.REVOKED
    if phase is None:
        return TaskStatus.PENDING
    return PHASE_TO_STATUS[phase]


def progress_of(obj: dict[str, Any]) -> int:
    if task_status(obj) is TaskStatus.SUCCESS:
        return 100
    value = _status(obj).get("progress")
    if isinstance(value, int) and not isinstance(value, bool):
        return min(100, max(0, value))
    return 0


def _meter(obj: dict[str, Any]) -> tuple[str, MeterType]:
    spec = obj.get("spec") or {}
    return str(spec.get("meterId", "")), MeterType(spec.get("meterType", "electricity"))


def failure_reason(obj: dict[str, Any]) -> tuple[str, str]:
    """(reason, message) of a failed TrainingJob: the Failed condition's, else status.message."""
    status = _status(obj)
    condition = find_condition(status.get("conditions"), ConditionType.FAILED) or {}
    reason = str(condition.get("reason") or UNKNOWN_REASON)
    message = str(condition.get("message") or status.get("message") or "Training failed.")
    return reason, redacted(message)


def task_result(obj: dict[str, Any]) -> TaskResultPublic | None:
    """The seed's `result` for a finished TrainingJob, else None."""
    status = task_status(obj)
    meter_id, meter_type = _meter(obj)
    raw = _status(obj)
    if status is TaskStatus.SUCCESS:
        own_path = model_path_of(raw, obj.get("spec"))
        result = raw.get("result") if own_path is not None else None
        if not isinstance(result, dict):
            result = {}
        model_path = MODEL_PATH_PREFIX + own_path if own_path is not None else None
        return TaskResultPublic(
            status="success",
            message=(
                f"Model trained and saved at {model_path}"
                if model_path is not None
                else "Training succeeded, but no model of this meter was reported."
            ),
            details=SuccessDetails(
                meter_id=meter_id,
                meter_type=meter_type,
                data_points=int(result.get("dataPoints") or 0),
                model_path=model_path,
                training_completed=str(
                    result.get("trainingCompleted") or raw.get("completionTime") or ""
                ),
                promoted=result.get("promoted"),
                promotion_reason=result.get("promotionReason"),
            ),
        )
    if status is TaskStatus.FAILURE:
        reason, message = failure_reason(obj)
        attempts = raw.get("attempts")
        return TaskResultPublic(
            status="failure",
            message=message,
            details=FailureDetails(
                reason=reason,
                meter_id=meter_id,
                meter_type=meter_type,
                attempts=attempts if isinstance(attempts, int) else None,
                failed_at=str(raw["completionTime"]) if raw.get("completionTime") else None,
            ),
        )
    return None


def task_public(obj: dict[str, Any]) -> TaskPublic:
    """The seed's GET /trainmodel/status/{task_id} answer."""
    return TaskPublic(
        task_id=str(_metadata(obj).get("name", "")),
        status=task_status(obj),
        progress=progress_of(obj),
        result=task_result(obj),
    )


def parse_spec(obj: dict[str, Any]) -> TrainingJobSpec | None:
    return spec_as(obj, TrainingJobSpec, constants.KIND)


def spec_as(obj: dict[str, Any], model: type[_Model], kind: str) -> _Model | None:
    """The spec as the contract's `model`; None (logged) if the stored spec is not valid."""
    try:
        return model.model_validate(obj.get("spec") or {})
    except ValidationError as exc:
        logger.warning("%s %s has an invalid spec: %s", kind, _metadata(obj).get("name"), exc)
        return None


def parse_status(obj: dict[str, Any]) -> TrainingJobStatus | None:
    """The status as the contract model; fields it does not know are left out, not fatal."""
    raw = _status(obj)
    if not raw:
        return None
    raw = redacted_messages(raw)
    if "result" in raw and model_path_of(raw, obj.get("spec")) is None:
        logger.warning(
            "TrainingJob %s: status.result left out, its modelPath is not in the meter's "
            "model directory",
            _metadata(obj).get("name"),
        )
        raw = {k: v for k, v in raw.items() if k != "result"}
    return lenient(TrainingJobStatus, raw, f"TrainingJob {_metadata(obj).get('name')}")


def lenient(model: type[_Model], raw: dict[str, Any], what: str) -> _Model | None:
    """`raw` as `model`; top-level fields that do not validate are left out (and logged)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        bad = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
        logger.warning("%s: status fields %s left out: %s", what, sorted(bad), exc)
        try:
            return model.model_validate({k: v for k, v in raw.items() if k not in bad})
        except ValidationError:
            return None


def _redacted_list(items: Any) -> Any:
    """A list of dicts with each `message` redacted (conditions, failures)."""
    if not isinstance(items, list):
        return items
    return [
        {**c, "message": redacted(c["message"])}
        if isinstance(c, dict) and isinstance(c.get("message"), str)
        else c
        for c in items
    ]


def redacted_messages(
    status: dict[str, Any], lists: tuple[str, ...] = ("conditions",)
) -> dict[str, Any]:
    """The status with its message and the messages of `lists` redacted."""
    out = dict(status)
    if isinstance(out.get("message"), str):
        out["message"] = redacted(out["message"])
    for key in lists:
        if key in out:
            out[key] = _redacted_list(out[key])
    return out


def _message(obj: dict[str, Any]) -> str | None:
    message = _status(obj).get("message")
    return redacted(message) if isinstance(message, str) else None


def object_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """The public fields every kind shows alike: who it is, its message, whether it was
    cancelled and with which Idempotency-Key it was made."""
    metadata = _metadata(obj)
    annotations = metadata.get("annotations") or {}
    return {
        "name": str(metadata.get("name", "")),
        "namespace": str(metadata.get("namespace", "")),
        "uid": metadata.get("uid"),
        "resource_version": metadata.get("resourceVersion"),
        "created_at": metadata.get("creationTimestamp"),
        "message": _message(obj),
        "cancelled": is_cancelled(obj),
        "idempotency_key": annotations.get(constants.ANNOTATION_IDEMPOTENCY_KEY),
    }


def job_public(obj: dict[str, Any]) -> TrainingJobPublic:
    """A TrainingJob object as the /v1 API shows it."""
    status = task_status(obj)
    reason, failure = failure_reason(obj) if status is TaskStatus.FAILURE else (None, None)
    return TrainingJobPublic(
        **object_fields(obj),
        task_status=status,
        stage=STATUS_TO_STAGE[status],
        finished=status in FINISHED_STATUSES,
        phase=phase_of(obj),
        progress=progress_of(obj),
        failure_reason=reason,
        failure_message=failure,
        spec=parse_spec(obj),
        status=parse_status(obj),
    )


def comparable_spec(
    spec: dict[str, Any] | ContractModel, model: type[ContractModel] = TrainingJobSpec
) -> dict[str, Any] | None:
    """A spec (of `model`, the contract's spec of its kind) normalised for "is this the same
    submission?": parsed by the contract (so defaults and time zone spellings agree), without
    `suspend` (it changes after creation)."""
    try:
        parsed = spec if isinstance(spec, model) else model.model_validate(spec)
    except ValidationError:
        return None
    # Compare instants, not spellings: 01:00+01:00 is 00:00Z.
    instants = {
        field: getattr(parsed, field).astimezone(UTC)
        for field in ("start", "end")
        if isinstance(getattr(parsed, field, None), datetime)
    }
    parsed = parsed.model_copy(update=instants)
    data = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("suspend", None)
    return data
