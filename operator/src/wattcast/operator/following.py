"""Following a TrainingJob's Job: its state onto the TrainingJob, `spec.suspend` onto the Job.

Level-based and idempotent: `reconcile` compares the TrainingJob and its Job as Kopf's indexes
show them now and writes what differs (`status.from_job`), whatever event woke it, so a change
made while the operator was down is carried over after a restart like any other.

A Job the index does not show is not yet a lost one: the Job this process created a moment ago
may simply not have reached its watch. Its own event will come and reconcile. The operator
decides that a Job is lost (`JobLost`) only when the absence is news: the Job's DELETED event
(`job_deleted`), or the first sight of the TrainingJob after a start, when
Kopf has listed every Job into the index before any handler runs (`confirm_job` from the
`on.resume` handler, which Kopf retries until the loss is written). Either way the API server
is asked once more before the TrainingJob fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from wattcast.crd import TERMINAL_PHASES, Reason, constants
from wattcast.crd.times import now_utc
from wattcast.operator import status as mapping
from wattcast.operator.admission import Admission
from wattcast.operator.blockers import pod_blocker
from wattcast.operator.rendering import is_owned_by
from wattcast.operator.runtime import Runtime
from wattcast.operator.snapshots import Key, Snapshot, lookup
from wattcast.operator.writing import write_fresh

# The Job controller labels its pods with the Job's name (the older of its two labels is on
# pods of every supported version).
JOB_NAME_LABEL = "job-name"


@dataclass(frozen=True)
class Indexes:
    """Kopf's indexes, which it passes to every handler by the indexers' names. `workloads`
    (Kueue's word on each Job's wait, by the Job's key) exists only where Kueue's CRDs were
    installed when the operator started."""

    trainingjobs: Mapping[Key, Iterable[Snapshot]]
    jobs: Mapping[Key, Iterable[dict[str, Any]]]  # of `snapshots.job_summary`
    workloads: Mapping[Key, Iterable[Admission | None]] | None = None

    @classmethod
    def of(cls, kwargs: Mapping[str, Any]) -> Indexes:
        return cls(
            trainingjobs=kwargs["trainingjobs"],
            jobs=kwargs["jobs"],
            workloads=kwargs.get("workloads"),
        )

    def admission(self, job_key: Key) -> Admission | None:
        """What Kueue says of the Job's wait, if Kueue manages it."""
        return lookup(self.workloads, job_key) if self.workloads is not None else None


def follows_a_job(status: Mapping[str, Any]) -> bool:
    """Whether the TrainingJob has a Job to follow: one recorded, and not finished yet."""
    return bool(status.get("jobName")) and status.get("phase") not in TERMINAL_PHASES


async def reconcile(rt: Runtime, key: Key, indexes: Indexes, logger: kopf.Logger) -> None:
    """Bring one TrainingJob's status in line with its Job, if the index shows that Job."""
    await _follow(rt, key, indexes, logger, missing_is_lost=lambda _: False)


async def confirm_job(
    rt: Runtime,
    key: Key,
    indexes: Indexes,
    logger: kopf.Logger,
    *,
    owner_uid: str | None = None,
) -> bool:
    """Like `reconcile`, and a Job missing from the index means lost (checked with the API).

    `owner_uid`: the uid a deleted Job's ownerReference named; a TrainingJob of another uid
    (a newer one of the same name) is not the one that lost it. False when a write met a
    TrainingJob that kept changing (the caller may retry); True when settled.
    """

    def missing_is_lost(tj: Snapshot) -> bool:
        return owner_uid is None or owner_uid == tj.uid

    return await _follow(rt, key, indexes, logger, missing_is_lost=missing_is_lost)


async def job_deleted(
    rt: Runtime, key: Key, indexes: Indexes, logger: kopf.Logger, *, owner_uid: str
) -> None:
    """The Job's DELETED event: lost, unless its TrainingJob had finished (the record stays)."""
    observed: Snapshot | None = lookup(indexes.trainingjobs, key)
    if observed is not None and observed.uid == owner_uid:
        tj = rt.state.current(observed)
        if tj.phase in TERMINAL_PHASES:
            logger.info(f"Job {tj.job_name} was deleted after the TrainingJob finished: kept")
            return
    await confirm_job(rt, key, indexes, logger, owner_uid=owner_uid)


async def _follow(
    rt: Runtime,
    key: Key,
    indexes: Indexes,
    logger: kopf.Logger,
    *,
    missing_is_lost: Callable[[Snapshot], bool],
) -> bool:
    async with rt.state.lock(key):
        observed: Snapshot | None = lookup(indexes.trainingjobs, key)
        if observed is None or observed.deleting:
            return True
        tj = rt.state.current(observed)
        job_name = tj.job_name
        if not job_name or tj.phase in TERMINAL_PHASES:
            return True  # creation is create_job's (Kopf retries it); a finished one stays
        job: dict[str, Any] | None = lookup(indexes.jobs, (tj.namespace, job_name))
        if job is None:
            if not missing_is_lost(tj):
                return True  # on its way to the watch, or not this TrainingJob's Job
            return await check_lost(rt, tj, job_name, logger)
        if not is_owned_by(job, tj.uid):
            return await check_lost(rt, tj, job_name, logger)
        if await carry_suspend(rt, tj, job, logger):
            return True  # the Job's own event brings the state to map
        waiting = indexes.admission((tj.namespace, job_name))
        return await map_job(rt, tj, job, logger, waiting)


async def pod_changed(
    rt: Runtime,
    key: Key,
    indexes: Indexes,
    pod: Mapping[str, Any],
    logger: kopf.Logger,
    *,
    gone: bool,
) -> None:
    """A trainer pod changed (or went): show on the TrainingJob whether it cannot start, and why.

    Only a pod of the TrainingJob's own Job counts (its `job-name` label); a pod that went
    blocks nothing any more.
    """
    async with rt.state.lock(key):
        observed: Snapshot | None = lookup(indexes.trainingjobs, key)
        if observed is None or observed.deleting:
            return
        tj = rt.state.current(observed)
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if not tj.job_name or labels.get(JOB_NAME_LABEL) != tj.job_name:
            return
        blocker = None if gone else pod_blocker(pod)
        if not mapping.pod_blocked(tj.status, blocker, now=now_utc()).patch:
            return

        async def compute(current: Snapshot) -> mapping.StatusChange:
            return mapping.pod_blocked(current.status, blocker, now=now_utc())

        await write_fresh(rt, tj, compute, logger)


async def map_job(
    rt: Runtime,
    tj: Snapshot,
    job: Mapping[str, Any],
    logger: kopf.Logger,
    waiting: Admission | None = None,
) -> bool:
    """Write the status the Job's state calls for (reading its pods only when needed);
    `waiting` is Kueue's word on the Job's wait (its Workload), if it has one."""
    observation = mapping.observe_job(job)
    # Cheap check first: most events change nothing and need no pods read.
    quick = mapping.from_job(
        tj.status,
        observation,
        suspend=tj.suspend,
        cancelled=tj.cancelled,
        termination=None,
        now=now_utc(),
        admission=waiting,
    )
    if not quick.patch:
        return True

    async def compute(current: Snapshot) -> mapping.StatusChange:
        termination = None
        if mapping.needs_termination_message(current.status, observation):
            pods = await rt.kube.list_job_pods(tj.namespace, observation.name)
            termination = mapping.termination_message(pods)
        return mapping.from_job(
            current.status,
            observation,
            suspend=current.suspend,
            cancelled=current.cancelled,
            termination=termination,
            now=now_utc(),
            admission=waiting,
        )

    return await write_fresh(rt, tj, compute, logger)


async def check_lost(rt: Runtime, tj: Snapshot, job_name: str, logger: kopf.Logger) -> bool:
    """The index shows no Job of ours: confirm with the API, then fail with JobLost."""
    job = await rt.kube.read_job(tj.namespace, job_name)
    if job is not None and is_owned_by(job, tj.uid):
        return True  # the index lags behind the API server; the Job's event will follow
    message = (
        f"Job {job_name} was deleted before it finished"
        if job is None
        else f"Job {job_name} was replaced by a Job this TrainingJob does not own"
    )

    async def compute(current: Snapshot) -> mapping.StatusChange:
        return mapping.failed(
            current.status, reason=Reason.JOB_LOST, message=message, now=now_utc()
        )

    return await write_fresh(rt, tj, compute, logger)


async def carry_suspend(
    rt: Runtime, tj: Snapshot, job: Mapping[str, Any], logger: kopf.Logger
) -> bool:
    """Make the Job's spec.suspend follow the TrainingJob's; True when a patch was sent.

    Level-based (not on a diff), so a change made while the operator was down is carried over
    after a restart. A Kueue-managed Job is never unsuspended by us: resuming it is Kueue's
    decision (docs/design.md §3).
    """
    job_suspended = bool((job.get("spec") or {}).get("suspend"))
    queued = constants.LABEL_KUEUE_QUEUE in ((job.get("metadata") or {}).get("labels") or {})
    if tj.suspend == job_suspended or (job_suspended and queued):
        return False
    name = (job.get("metadata") or {}).get("name", tj.name)
    if await rt.kube.patch_job(tj.namespace, name, {"spec": {"suspend": tj.suspend}}) is None:
        return False
    logger.info(f"{'suspended' if tj.suspend else 'resumed'} Job {name}")
    return True
