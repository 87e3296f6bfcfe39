"""Making a TrainingJob's one Job: or adopting it, or refusing with a reason.

Called by the `create_job` handler (Kopf `on.create`, which Kopf retries until it returns):
validate the TrainingJob, resolve its InfluxDB source, make the trainer's own identity
(`identity.ensure_trainer_identity`), create the Job `rendering.render_job` builds, and record
`jobName` and the first phase. A 409 on the Job adopts it when its controller ownerReference is
this TrainingJob (what a restart between "Job created" and "status written" sees) and fails the
TrainingJob with `JobNameConflict` otherwise. Failures a retry can mend raise
`kopf.TemporaryError`; failures it cannot mend are written as a `Failed` phase with a reason.
"""

from __future__ import annotations

import time

import kopf
from pydantic import ValidationError

from wattcast.crd import TERMINAL_PHASES, InfluxSource, Reason, TrainingJob
from wattcast.crd.times import now_utc
from wattcast.operator import messages
from wattcast.operator import status as mapping
from wattcast.operator.identity import IdentityConflict, IdentityVanished, ensure_trainer_identity
from wattcast.operator.kubeclient import KubeApiError
from wattcast.operator.metrics import JOB_CREATION_LATENCY, JOBS_CREATED
from wattcast.operator.rendering import is_owned_by, missing_labels, render_job
from wattcast.operator.runtime import Runtime
from wattcast.operator.snapshots import Snapshot
from wattcast.operator.sources import SourceRefused, resolve_source
from wattcast.operator.writing import write_or_retry


class Refused(Exception):
    """The TrainingJob can never get a Job: fail it with `reason` (a condition reason)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


async def create_job(
    rt: Runtime,
    body: kopf.Body,
    patch: kopf.Patch,
    since_first_try: float,
    logger: kopf.Logger,
) -> None:
    """Make the TrainingJob's one Job, or adopt it, or fail the TrainingJob with a reason.

    `since_first_try`: seconds since Kopf first ran the handler for this TrainingJob (its
    `runtime`), for the TrainingJob→Job latency metric.
    """
    entered = time.monotonic()
    tj = rt.state.current(Snapshot.of(body))
    if tj.job_name or tj.phase in TERMINAL_PHASES:
        return  # one Job per TrainingJob, ever: a re-run after a restart makes no second one
    try:
        model, source = await prepare(rt, body, patch)
        adopted = await create_or_adopt(rt, model, source)
    except Refused as refused:
        JOBS_CREATED.labels(action="refused").inc()
        await fail(rt, tj, refused.reason, refused.message, logger)
        return
    JOBS_CREATED.labels(action="adopted" if adopted else "created").inc()
    if not adopted:
        JOB_CREATION_LATENCY.observe(since_first_try + time.monotonic() - entered)

    async def compute(current: Snapshot) -> mapping.StatusChange:
        return mapping.job_created(
            current.status,
            job_name=tj.name,
            adopted=adopted,
            queued=model.spec.queue_name is not None,
            suspended=model.spec.suspend,
            generation=body.metadata.get("generation"),
            now=now_utc(),
        )

    # Should this keep failing, the Job exists: the retry adopts it (409) and records it.
    await write_or_retry(rt, tj, compute, logger)


async def prepare(
    rt: Runtime, body: kopf.Body, patch: kopf.Patch
) -> tuple[TrainingJob, InfluxSource]:
    """The validated TrainingJob and its source, its labels completed, its identity made."""
    try:
        model = TrainingJob.model_validate(dict(body))
    except ValidationError as error:
        raise Refused(Reason.INVALID_SPEC, messages.invalid_trainingjob(error)) from error
    labels = missing_labels(model)
    if labels:
        patch.metadata.labels.update(labels)  # sent with Kopf's own annotation patch
    try:
        source = resolve_source(model.spec.source, rt.sources)
    except SourceRefused as refused:
        raise Refused(refused.reason, refused.message) from refused
    try:
        await ensure_trainer_identity(rt.kube, model)
    except IdentityConflict as conflict:
        raise Refused(Reason.TRAINER_IDENTITY_CONFLICT, conflict.message) from conflict
    except IdentityVanished as vanished:
        raise kopf.TemporaryError(f"{vanished}; retrying", delay=1) from vanished
    except KubeApiError as error:
        # 403 here is the operator's own RBAC (it must hold what the Role grants): fixable by
        # an administrator, so retried rather than failed.
        raise kopf.TemporaryError(
            f"creating the trainer identity of {model.metadata.name}: "
            f"{error.status} {error.reason}",
            delay=5,
        ) from error
    return model, source


async def create_or_adopt(rt: Runtime, model: TrainingJob, source: InfluxSource) -> bool:
    """Create the Job; True when it existed already and is this TrainingJob's (adopted)."""
    namespace = model.metadata.namespace or ""
    name = model.metadata.name or ""
    try:
        await rt.kube.create_job(namespace, render_job(model, source, rt.settings))
        return False
    except KubeApiError as error:
        if error.status in (400, 422):
            raise Refused(Reason.INVALID_SPEC, messages.job_refused(error)) from error
        if error.status != 409:
            raise kopf.TemporaryError(
                f"creating Job {name}: {error.status} {error.reason}", delay=5
            ) from error
    existing = await rt.kube.read_job(namespace, name)
    if existing is None:
        raise kopf.TemporaryError(f"Job {name} existed and vanished; retrying", delay=1)
    if not is_owned_by(existing, model.metadata.uid or ""):
        raise Refused(
            Reason.JOB_NAME_CONFLICT,
            f"a Job named {name} already exists in {namespace} and is not this "
            "TrainingJob's; delete it or pick another TrainingJob name",
        )
    return True


async def fail(rt: Runtime, tj: Snapshot, reason: str, message: str, logger: kopf.Logger) -> None:
    """Fail the TrainingJob for a reason of the operator's own (no Job was made)."""

    async def compute(current: Snapshot) -> mapping.StatusChange:
        return mapping.failed(current.status, reason=reason, message=message, now=now_utc())

    await write_or_retry(rt, tj, compute, logger)


__all__ = ["Refused", "create_job"]
