"""The Kopf handlers, and nothing else: each hands its event to the module named for the work.

- `configure`, `close` (startup, cleanup): Kopf's settings (`kopf_settings`), the `Runtime`.
- `trainingjobs`, `jobs` (indexes): mirrors of TrainingJobs and of our Jobs (`snapshots`).
- `create_job` (on.create, retried by Kopf): the one Job, created, adopted or refused
  (`creating`).
- `confirm_job_after_restart` (on.resume, retried): a Job missing from the complete index
  after a start is lost (`following`).
- `trainingjob_event`, `job_event` (on.event): the Job's state onto the TrainingJob,
  `spec.suspend` onto the Job; a deleted Job is lost (`following`).
- `pod_event` (on.event of trainer pods): a pod that cannot start, and why, as the
  TrainingJob's `Blocked` condition (`following`, `blockers`).
- `expire` (timer on finished TrainingJobs, with retention on): the uid-conditional delete
  (`retention`).

Nothing here is authoritative in memory (`state` says what is kept, and why it may be lost):
killing the operator at any moment and starting it again converges. An unfinished creation
re-runs and adopts its Job; every object is listed again and reconciled. Kopf keeps its
progress and diff-base in annotations (the structural schema would prune them from `status`);
only the retention timer makes Kopf add a finalizer, and only to finished TrainingJobs.
"""

from __future__ import annotations

import datetime
from typing import Any

import kopf

from wattcast.crd import constants
from wattcast.crd.times import now_utc
from wattcast.operator import admission, creating, following, kopf_settings, retention
from wattcast.operator.fleet import handlers as fleet_handlers  # registers FleetTrainingJobs'
from wattcast.operator.following import Indexes
from wattcast.operator.metrics import TRAININGJOBS, counted
from wattcast.operator.runtime import Runtime, runtime_of
from wattcast.operator.settings import get_settings
from wattcast.operator.snapshots import Key, Snapshot, job_summary, lookup, owning_trainingjob

TJ = (constants.GROUP, constants.VERSION, constants.PLURAL)
JOBS = ("batch", "v1", "jobs")
OUR_JOBS = {constants.LABEL_TRAININGJOB: kopf.PRESENT}

# --- Start and stop ---------------------------------------------------------------------------


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Kopf's production settings, and the shared runtime unless `main` made it already."""
    kopf_settings.apply(settings, get_settings())
    if "runtime" not in memo:
        memo.runtime = Runtime.from_environment()


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    rt = memo.get("runtime")
    if isinstance(rt, Runtime):
        rt.kube.close()


# --- What the watch shows ---------------------------------------------------------------------


@kopf.index(*TJ)
def trainingjobs(
    body: kopf.Body, namespace: str | None, name: str, **_: Any
) -> dict[Key, Snapshot]:
    return {(namespace or "", name): Snapshot.of(body)}


@kopf.index(*JOBS, labels=OUR_JOBS)
def jobs(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> dict[Key, dict[str, Any]]:
    return {(namespace or "", name): job_summary(body)}


@kopf.index(*admission.WORKLOADS)
def workloads(
    body: kopf.Body, namespace: str | None, **_: Any
) -> dict[Key, admission.Admission | None]:
    """Kueue's Workloads of Jobs, by (namespace, Job name): why each Job waits (if it does).
    Served only where Kueue's CRDs are installed when the operator starts."""
    job = admission.owner_job(body)
    return {(namespace or "", job): admission.pending_admission(body)} if job else {}


# --- The one Job --------------------------------------------------------------------------------


@kopf.on.create(*TJ, backoff=2)
@counted
async def create_job(
    body: kopf.Body,
    patch: kopf.Patch,
    memo: Any,
    runtime: datetime.timedelta,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    await creating.create_job(runtime_of(memo), body, patch, runtime.total_seconds(), logger)


@kopf.on.resume(*TJ, backoff=2, when=lambda status, **_: following.follows_a_job(status))
@counted
async def confirm_job_after_restart(
    namespace: str | None,
    name: str,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    key = (namespace or "", name)
    if not await following.confirm_job(runtime_of(memo), key, Indexes.of(kwargs), logger):
        raise kopf.TemporaryError("the TrainingJob keeps changing; retrying", delay=1)


# --- Following the Job ------------------------------------------------------------------------


@kopf.on.event(*TJ)
@counted
async def trainingjob_event(
    type: str,
    namespace: str | None,
    name: str,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    rt = runtime_of(memo)
    namespace = namespace or ""
    if type == "DELETED":
        TRAININGJOBS.forget(namespace, name)
        rt.state.forget((namespace, name))
        return
    indexes = Indexes.of(kwargs)
    tj = lookup(indexes.trainingjobs, (namespace, name))
    if tj is not None:
        TRAININGJOBS.set(namespace, name, tj.phase)
    await following.reconcile(rt, (namespace, name), indexes, logger)


@kopf.on.event(*JOBS, labels=OUR_JOBS)
@counted
async def job_event(
    type: str,
    body: kopf.Body,
    namespace: str | None,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    owner = owning_trainingjob(body)
    if owner is None:
        return  # carries our label but is not a TrainingJob's Job
    rt = runtime_of(memo)
    key = (namespace or "", owner[0])
    if type == "DELETED":
        await following.job_deleted(rt, key, Indexes.of(kwargs), logger, owner_uid=owner[1])
    else:
        await following.reconcile(rt, key, Indexes.of(kwargs), logger)


@kopf.on.event(*admission.WORKLOADS)
@counted
async def workload_event(
    body: kopf.Body, namespace: str | None, memo: Any, logger: kopf.Logger, **kwargs: Any
) -> None:
    indexes = Indexes.of(kwargs)
    job_name = admission.owner_job(body)
    job = lookup(indexes.jobs, (namespace or "", job_name)) if job_name else None
    owner = owning_trainingjob(job) if job is not None else None
    if owner is not None:  # else not the Workload of one of our Jobs
        await following.reconcile(runtime_of(memo), (namespace or "", owner[0]), indexes, logger)


@kopf.on.event("", "v1", "pods", labels=OUR_JOBS)
@counted
async def pod_event(
    type: str,
    body: kopf.Body,
    namespace: str | None,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    trainingjob = body.metadata.labels.get(constants.LABEL_TRAININGJOB, "")
    key = (namespace or "", trainingjob)
    gone = type == "DELETED"
    await following.pod_changed(runtime_of(memo), key, Indexes.of(kwargs), body, logger, gone=gone)


# --- Retention --------------------------------------------------------------------------------


@kopf.timer(
    *TJ,
    # First run when due, counted from the status's completionTime; then only to retry.
    initial_delay=lambda status, memo, **_: retention.seconds_left(
        status, runtime_of(memo).settings.trainingjob_retention_seconds, now_utc()
    ),
    interval=retention.RETRY_S,
    when=lambda status, memo, **_: retention.applies(
        status, runtime_of(memo).settings.trainingjob_retention_seconds
    ),
)
@counted
async def expire(
    namespace: str | None,
    name: str,
    uid: str,
    status: kopf.Status,
    memo: Any,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    rt = runtime_of(memo)
    seconds = rt.settings.trainingjob_retention_seconds
    await retention.expire(rt.kube, namespace or "", name, uid, status, seconds, logger)


__all__ = ["JOBS", "TJ", "fleet_handlers"]
