"""Writing a TrainingJob's status: only if unchanged since it was read, announced once.

Every status change the operator computes (`status.StatusChange`) goes through `write`: a merge
patch of the status subresource carrying the resourceVersion it was computed from, so a phase
the trainer wrote meanwhile is never overwritten (409). A phase transition posts one Kubernetes
Event on the TrainingJob and counts the outcome. `write_fresh` re-reads the TrainingJob once
after a 409 and recomputes the change from the fresh status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

import kopf

from wattcast.crd import TERMINAL_PHASES
from wattcast.operator import status as mapping
from wattcast.operator.kubeclient import KubeApiError
from wattcast.operator.metrics import JOB_OUTCOMES, TRAININGJOBS
from wattcast.operator.runtime import Runtime
from wattcast.operator.snapshots import Snapshot

Compute = Callable[[Snapshot], Awaitable[mapping.StatusChange]]


async def write(
    rt: Runtime, tj: Snapshot, change: mapping.StatusChange, logger: kopf.Logger
) -> bool:
    """Patch the status (only if unchanged since `tj` was read); announce a transition.

    Returns False when the TrainingJob changed meanwhile (409); True when written, or when
    there is nothing to write or nobody to write it to.
    """
    if not change.patch:
        return True
    try:
        updated = await rt.kube.patch_trainingjob_status(
            tj.namespace, tj.name, change.patch, resource_version=tj.resource_version or None
        )
    except KubeApiError as error:
        if error.status == 409:
            return False
        if error.status == 422 and tj.phase in TERMINAL_PHASES:
            return False  # the schema keeps a finished TrainingJob finished
        raise
    if updated is None:
        return True  # gone: nothing left to write
    new = Snapshot.of(updated)
    rt.state.remember(tj, new)
    TRAININGJOBS.set(tj.namespace, tj.name, new.phase)
    if change.transition:
        announce(tj, change, logger)
    return True


def announce(tj: Snapshot, change: mapping.StatusChange, logger: kopf.Logger) -> None:
    """A phase transition: one Kubernetes Event on the TrainingJob, a log line, the outcome."""
    kopf.event(
        kopf.Body(cast(kopf.RawBody, tj.ref)),
        type=change.event_type,
        reason=change.reason or str(change.new_phase),
        message=f"{change.old_phase or 'New'} -> {change.new_phase}: {change.message}"[:1024],
    )
    logger.info(f"phase {change.old_phase} -> {change.new_phase}: {change.message}")
    if change.new_phase in TERMINAL_PHASES:
        JOB_OUTCOMES.labels(phase=change.new_phase, reason=change.reason or "").inc()


async def write_fresh(rt: Runtime, tj: Snapshot, compute: Compute, logger: kopf.Logger) -> bool:
    """Write `compute(tj)`; if the TrainingJob changed meanwhile, re-read it and retry once.

    True when settled: written, or the TrainingJob is gone or being deleted.
    """
    if await write(rt, tj, await compute(tj), logger):
        return True
    body = await rt.kube.read_trainingjob(tj.namespace, tj.name)
    if body is None:
        return True
    fresh = Snapshot.of(body)
    if fresh.uid != tj.uid or fresh.deleting:
        return True
    return await write(rt, fresh, await compute(fresh), logger)


async def write_or_retry(rt: Runtime, tj: Snapshot, compute: Compute, logger: kopf.Logger) -> None:
    """`write_fresh` under the TrainingJob's lock, for a handler Kopf retries: a TrainingJob
    that keeps changing raises kopf.TemporaryError, and Kopf runs the handler again."""
    async with rt.state.lock(tj.key):
        if not await write_fresh(rt, rt.state.current(tj), compute, logger):
            raise kopf.TemporaryError("the TrainingJob keeps changing; retrying", delay=1)
