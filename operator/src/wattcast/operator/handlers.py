"""The Kopf handlers: thin glue between watch events and the pure modules.

- `create_job` (on.create, retried by Kopf): resolve the source, make the trainer's own
  identity (`identity.ensure_trainer_identity`), render the Job with `rendering.render_job`,
  create it (a 409 adopts our own Job, or fails the TrainingJob when the name belongs to
  someone else), and record `jobName` and the first phase.
- `trainingjob_event` / `job_event` (on.event, level-based): carry `spec.suspend` over to the
  Job, map the Job's state onto the TrainingJob's status with `status.from_job`, detect a
  vanished Job, schedule retention.

Nothing here is authoritative in memory: the Kopf indexes mirror the API server, and the small
caches in `Runtime` only avoid duplicate writes. Killing the operator at any moment and
starting it again converges: an unfinished creation re-runs and adopts its Job; every object
is listed again and reconciled. Kopf keeps its progress and diff-base in annotations (the
structural schema would prune them from `status`), and no handler needs a finalizer, so a
stopped operator never blocks a deletion: the ownerReference cascade removes Job and pods.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import kopf
from pydantic import ValidationError

from wattcast.crd import (
    TERMINAL_PHASES,
    InfluxSource,
    Phase,
    Reason,
    TrainingJob,
    constants,
)
from wattcast.crd.times import now_utc, parse_rfc3339
from wattcast.operator import admission, messages
from wattcast.operator import status as mapping
from wattcast.operator.identity import IdentityConflict, IdentityVanished, ensure_trainer_identity
from wattcast.operator.kubeclient import KubeApiError, KubeClient, load_api_client
from wattcast.operator.metrics import (
    HANDLER_ERRORS,
    JOB_CREATION_LATENCY,
    JOB_OUTCOMES,
    JOBS_CREATED,
    TRAININGJOBS,
)
from wattcast.operator.rendering import is_owned_by, missing_labels, render_job
from wattcast.operator.settings import OperatorSettings, get_settings
from wattcast.operator.sources import SourceRefused, configured_sources, resolve_source

TJ = (constants.GROUP, constants.VERSION, constants.PLURAL)
JOBS = ("batch", "v1", "jobs")
OUR_JOBS = {constants.LABEL_TRAININGJOB: kopf.PRESENT}
DIFFBASE_KEY = "last-handled-configuration"
AWAIT_JOB_EVENT_S = 30.0

Key = tuple[str, str]


@dataclass(frozen=True)
class Snapshot:
    """What the handlers need of a TrainingJob, as the watch last showed it."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    suspend: bool
    cancelled: bool
    deleting: bool
    queued: bool
    status: Mapping[str, Any]

    @property
    def ref(self) -> dict[str, Any]:
        """Enough of the object to post Kubernetes Events about it."""
        return {
            "apiVersion": constants.API_VERSION,
            "kind": constants.KIND,
            "metadata": {"name": self.name, "namespace": self.namespace, "uid": self.uid},
        }

    @property
    def phase(self) -> str | None:
        return cast("str | None", self.status.get("phase"))

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Snapshot:
        meta = body.get("metadata") or {}
        spec = body.get("spec") or {}
        annotations = meta.get("annotations") or {}
        return cls(
            namespace=meta.get("namespace", ""),
            name=meta.get("name", ""),
            uid=meta.get("uid", ""),
            resource_version=str(meta.get("resourceVersion", "")),
            suspend=bool(spec.get("suspend")),
            cancelled=annotations.get(constants.ANNOTATION_CANCELLED) == "true",
            deleting=meta.get("deletionTimestamp") is not None,
            queued=spec.get("queueName") is not None,
            status=dict(body.get("status") or {}),
        )


@dataclass(frozen=True)
class Written:
    """A status this operator wrote, until the watch shows it (avoids writing it twice)."""

    based_on: str
    snapshot: Snapshot


@dataclass
class Runtime:
    """The operator's shared tools and caches (never the source of truth)."""

    settings: OperatorSettings
    sources: dict[str, InfluxSource]
    kube: KubeClient
    locks: dict[Key, asyncio.Lock] = field(default_factory=dict)
    written: dict[Key, Written] = field(default_factory=dict)
    first_seen: dict[Key, float] = field(default_factory=dict)
    retention: dict[Key, asyncio.TimerHandle] = field(default_factory=dict)
    # Jobs this process created whose watch event has not arrived yet (monotonic time of the
    # creation): no need to ask the API whether they exist. Cleared by the Job's first event;
    # trusted for AWAIT_JOB_EVENT_S only, in case that event never comes.
    awaiting_job: dict[Key, float] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    def from_environment(cls) -> Runtime:
        settings = get_settings()
        return cls(
            settings=settings,
            sources=configured_sources(settings),
            kube=KubeClient(load_api_client()),
        )

    def lock(self, key: Key) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())

    def current(self, observed: Snapshot) -> Snapshot:
        """The newest status known: the watch's, or ours if the watch has not caught up."""
        key = (observed.namespace, observed.name)
        written = self.written.get(key)
        if written is None:
            return observed
        if written.snapshot.uid == observed.uid and observed.resource_version == written.based_on:
            return written.snapshot
        del self.written[key]
        return observed

    def forget(self, key: Key) -> None:
        self.locks.pop(key, None)
        self.written.pop(key, None)
        self.first_seen.pop(key, None)
        self.awaiting_job.pop(key, None)
        handle = self.retention.pop(key, None)
        if handle is not None:
            handle.cancel()


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def counted(fn: F) -> F:
    """Count a handler's exceptions in the metrics (Kopf still logs and retries them)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except Exception:
            HANDLER_ERRORS.labels(handler=fn.__name__).inc()
            raise

    return cast("F", wrapper)


def runtime(memo: Any) -> Runtime:
    return cast("Runtime", memo.runtime)


# --- Start-up ----------------------------------------------------------------------------


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Kopf's production settings, and the shared runtime unless `main` made it already."""
    ours = get_settings()
    # The structural schema prunes unknown status fields: Kopf's bookkeeping goes to
    # annotations instead (wattcast.dev/<handler> while retrying, and the diff-base).
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=constants.GROUP)
    # Only the spec matters for diffs (spec.suspend): with labels in the diff-base, the labels
    # create_job adds would cost Kopf a second bookkeeping patch per TrainingJob.
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=constants.GROUP,
        key=DIFFBASE_KEY,
        ignored_fields=["metadata.labels", "metadata.annotations"],
    )
    # No handler requires a finalizer; should one ever be added, this names it ours.
    settings.persistence.finalizer = f"{constants.GROUP}/operator"
    # Watches end server-side before the client gives up, so a silent connection is noticed.
    settings.watching.server_timeout = ours.watch_server_timeout
    settings.watching.client_timeout = ours.watch_client_timeout
    # Only the explicit transition Events, not every log line, become Kubernetes Events.
    settings.posting.loggers = False
    settings.posting.level = logging.INFO
    # Kopf watches CRDs (and, for namespace globs, namespaces) cluster-wide to follow
    # resources and namespaces that appear later. The operator knows its two resources, and
    # the chart names exact namespaces and grants no cluster-scope read of CRDs or
    # namespaces: without this, every start retries 403s before it falls back.
    settings.scanning.disabled = not ours.namespace_globs
    if "runtime" not in memo:
        memo.runtime = Runtime.from_environment()


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    rt = memo.get("runtime")
    if isinstance(rt, Runtime):
        for handle in rt.retention.values():
            handle.cancel()
        rt.kube.close()


# --- Indexes: the watch's view of TrainingJobs and our Jobs --------------------------------


@kopf.index(*TJ)
def trainingjobs(
    body: kopf.Body, namespace: str | None, name: str, **_: Any
) -> dict[Key, Snapshot]:
    return {(namespace or "", name): Snapshot.of(body)}


@kopf.index(*JOBS, labels=OUR_JOBS)
def jobs(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> dict[Key, dict[str, Any]]:
    return {
        (namespace or "", name): {
            "metadata": {
                "name": name,
                "labels": dict(body.metadata.labels),
                "ownerReferences": list(body.metadata.get("ownerReferences") or []),
            },
            "spec": {"suspend": bool(body.spec.get("suspend"))},
            "status": dict(body.status),
        }
    }


@kopf.index(*admission.WORKLOADS)
def workloads(
    body: kopf.Body, namespace: str | None, **_: Any
) -> dict[Key, admission.Admission | None]:
    """Kueue's Workloads of Jobs, by (namespace, Job name): why each Job waits (if it does).
    Served only where Kueue's CRDs are installed when the operator starts."""
    job = admission.owner_job(body)
    if job is None:
        return {}
    return {(namespace or "", job): admission.pending_admission(body)}


def _admission(kwargs: Mapping[str, Any], key: Key) -> admission.Admission | None:
    index = kwargs.get("workloads")
    return _one(index, key) if index is not None else None


def _indexes(
    kwargs: Mapping[str, Any],
) -> tuple[kopf.Index[Key, Snapshot], kopf.Index[Key, dict[str, Any]]]:
    """The two indexes, which Kopf passes to every handler by the indexers' names."""
    return kwargs["trainingjobs"], kwargs["jobs"]


def _one(index: kopf.Index[Key, Any], key: Key) -> Any:
    store = index.get(key)
    return next(iter(store), None) if store is not None else None


# --- Writing status -------------------------------------------------------------------------


async def write(
    rt: Runtime, tj: Snapshot, change: mapping.StatusChange, logger: kopf.Logger
) -> bool:
    """Patch the status (only if unchanged since `tj` was read); announce a transition.

    Returns False when the TrainingJob changed meanwhile (409); True when written, or when
    there is nothing to write or nobody to write it to.
    """
    if not change.patch:
        return True
    key = (tj.namespace, tj.name)
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
    if new.uid == tj.uid:
        rt.written[key] = Written(based_on=tj.resource_version, snapshot=new)
    TRAININGJOBS.set(tj.namespace, tj.name, new.phase)
    if change.transition:
        kopf.event(
            kopf.Body(cast(kopf.RawBody, tj.ref)),
            type=change.event_type,
            reason=change.reason or str(change.new_phase),
            message=f"{change.old_phase or 'New'} -> {change.new_phase}: {change.message}"[:1024],
        )
        logger.info(f"phase {change.old_phase} -> {change.new_phase}: {change.message}")
        if change.new_phase in TERMINAL_PHASES:
            JOB_OUTCOMES.labels(phase=change.new_phase, reason=change.reason or "").inc()
    return True


async def write_fresh(
    rt: Runtime,
    tj: Snapshot,
    compute: Callable[[Snapshot], Awaitable[mapping.StatusChange]],
    logger: kopf.Logger,
) -> bool:
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


# --- Creating the one Job ---------------------------------------------------------------------


@kopf.on.create(*TJ, backoff=2)
@counted
async def create_job(
    body: kopf.Body,
    namespace: str | None,
    name: str,
    uid: str,
    patch: kopf.Patch,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    """Make the TrainingJob's one Job, or adopt it, or refuse with a reason."""
    rt = runtime(memo)
    namespace = namespace or ""
    key = (namespace, name)
    tj = rt.current(Snapshot.of(body))
    if tj.status.get("jobName") or tj.phase in TERMINAL_PHASES:
        return  # one Job per TrainingJob, ever: a re-run after a restart makes no second one

    async def fail(reason: str, message: str) -> None:
        JOBS_CREATED.labels(action="refused").inc()

        async def compute(current: Snapshot) -> mapping.StatusChange:
            return mapping.failed(current.status, reason=reason, message=message, now=now_utc())

        async with rt.lock(key):
            if not await write_fresh(rt, rt.current(tj), compute, logger):
                raise kopf.TemporaryError("the TrainingJob keeps changing; retrying", delay=1)

    try:
        model = TrainingJob.model_validate(dict(body))
    except ValidationError as error:
        await fail(Reason.INVALID_SPEC, messages.invalid_trainingjob(error))
        return
    labels = missing_labels(model)
    if labels:
        patch.metadata.labels.update(labels)  # sent with Kopf's own annotation patch
    try:
        source = resolve_source(model.spec.source, rt.sources)
    except SourceRefused as refused:
        await fail(refused.reason, refused.message)
        return

    try:
        await ensure_trainer_identity(rt.kube, model)
    except IdentityConflict as conflict:
        await fail(Reason.TRAINER_IDENTITY_CONFLICT, conflict.message)
        return
    except IdentityVanished as vanished:
        raise kopf.TemporaryError(f"{vanished}; retrying", delay=1) from vanished
    except KubeApiError as error:
        # 403 here is the operator's own RBAC (it must hold what the Role grants): fixable by
        # an administrator, so retried rather than failed.
        raise kopf.TemporaryError(
            f"creating the trainer identity of {name}: {error.status} {error.reason}", delay=5
        ) from error

    adopted = False
    try:
        await rt.kube.create_job(namespace, render_job(model, source, rt.settings))
    except KubeApiError as error:
        if error.status in (400, 422):
            await fail(Reason.INVALID_SPEC, messages.job_refused(error))
            return
        if error.status != 409:
            raise kopf.TemporaryError(
                f"creating Job {name}: {error.status} {error.reason}", delay=5
            ) from error
        existing = await rt.kube.read_job(namespace, name)
        if existing is None:
            raise kopf.TemporaryError(
                f"Job {name} existed and vanished; retrying", delay=1
            ) from error
        if not is_owned_by(existing, uid):
            await fail(
                Reason.JOB_NAME_CONFLICT,
                f"a Job named {name} already exists in {namespace} and is not this "
                "TrainingJob's; delete it or pick another TrainingJob name",
            )
            return
        adopted = True
    JOBS_CREATED.labels(action="adopted" if adopted else "created").inc()
    if _one(kwargs["jobs"], key) is None:
        rt.awaiting_job[key] = time.monotonic()
    seen = rt.first_seen.get(key)
    if seen is not None and not adopted:
        JOB_CREATION_LATENCY.observe(time.monotonic() - seen)

    async def compute(current: Snapshot) -> mapping.StatusChange:
        return mapping.job_created(
            current.status,
            job_name=name,
            adopted=adopted,
            queued=model.spec.queue_name is not None,
            suspended=model.spec.suspend,
            generation=body.metadata.get("generation"),
            now=now_utc(),
        )

    async with rt.lock(key):
        if not await write_fresh(rt, rt.current(tj), compute, logger):
            # The Job exists; the retry adopts it (409) and records it.
            raise kopf.TemporaryError("the TrainingJob keeps changing; retrying", delay=1)


# --- Following the Job --------------------------------------------------------------------------


async def reconcile(
    rt: Runtime,
    key: Key,
    trainingjobs: kopf.Index[Key, Snapshot],
    jobs: kopf.Index[Key, dict[str, Any]],
    logger: kopf.Logger,
    waiting: admission.Admission | None = None,
) -> None:
    """Bring one TrainingJob's status in line with its Job (level-based, idempotent);
    `waiting` is Kueue's word on the Job's wait (its Workload), if it has one."""
    async with rt.lock(key):
        observed = _one(trainingjobs, key)
        if observed is None or observed.deleting:
            return
        tj = rt.current(observed)
        if tj.phase in TERMINAL_PHASES:
            schedule_retention(rt, tj, logger)
            return
        job_name = tj.status.get("jobName")
        if not job_name:
            return  # creation is create_job's, with Kopf's retries
        job = _one(jobs, (tj.namespace, job_name))
        created = rt.awaiting_job.get(key)
        if job is None and created is not None and time.monotonic() - created < AWAIT_JOB_EVENT_S:
            return  # created a moment ago; its watch event is on the way
        if job is None or not is_owned_by(job, tj.uid):
            await check_lost(rt, tj, job_name, logger)
            return
        if await carry_suspend(rt, tj, job, logger):
            return  # the Job's own event brings the state to map

        async def compute(current: Snapshot) -> mapping.StatusChange:
            observation = mapping.observe_job(job)
            termination = None
            if mapping.needs_termination_message(current.status, observation):
                pods = await rt.kube.list_job_pods(tj.namespace, job_name)
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

        # Cheap check first: most events change nothing and need no pods read.
        quick = mapping.from_job(
            tj.status,
            mapping.observe_job(job),
            suspend=tj.suspend,
            cancelled=tj.cancelled,
            termination=None,
            now=now_utc(),
            admission=waiting,
        )
        if quick.patch:
            await write_fresh(rt, tj, compute, logger)


async def check_lost(rt: Runtime, tj: Snapshot, job_name: str, logger: kopf.Logger) -> None:
    """The index shows no Job of ours: confirm with the API, then fail with JobLost."""
    # The Job's watch event may simply trail the TrainingJob's: ask the server before failing.
    job = await rt.kube.read_job(tj.namespace, job_name)
    if job is not None and is_owned_by(job, tj.uid):
        return
    message = (
        f"Job {job_name} was deleted before it finished"
        if job is None
        else f"Job {job_name} was replaced by a Job this TrainingJob does not own"
    )

    async def compute(current: Snapshot) -> mapping.StatusChange:
        return mapping.failed(
            current.status, reason=Reason.JOB_LOST, message=message, now=now_utc()
        )

    await write_fresh(rt, tj, compute, logger)


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
    rt = runtime(memo)
    trainingjobs, jobs = _indexes(kwargs)
    namespace = namespace or ""
    key = (namespace, name)
    if type == "DELETED":
        TRAININGJOBS.forget(namespace, name)
        rt.forget(key)
        return
    rt.first_seen.setdefault(key, time.monotonic())
    tj = _one(trainingjobs, key)
    if tj is not None:
        TRAININGJOBS.set(namespace, name, tj.phase)
    job_name = tj.status.get("jobName") if tj is not None else None
    waiting = _admission(kwargs, (namespace, str(job_name))) if job_name else None
    await reconcile(rt, key, trainingjobs, jobs, logger, waiting)


@kopf.on.event(*JOBS, labels=OUR_JOBS)
@counted
async def job_event(
    body: kopf.Body,
    namespace: str | None,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    trainingjobs, jobs = _indexes(kwargs)
    owner = next(
        (
            ref
            for ref in body.metadata.get("ownerReferences") or []
            if ref.get("controller") and ref.get("kind") == constants.KIND
        ),
        None,
    )
    if owner is None:
        return  # carries our label but is not a TrainingJob's Job
    key = (namespace or "", str(owner.get("name", "")))
    runtime(memo).awaiting_job.pop(key, None)
    waiting = _admission(kwargs, (namespace or "", str(body.metadata.get("name", ""))))
    await reconcile(runtime(memo), key, trainingjobs, jobs, logger, waiting)


@kopf.on.event(*admission.WORKLOADS)
@counted
async def workload_event(
    body: kopf.Body, namespace: str | None, memo: Any, logger: kopf.Logger, **kwargs: Any
) -> None:
    """Kueue changed a Workload: the Queued TrainingJob of its Job shows Kueue's word."""
    trainingjobs, jobs = _indexes(kwargs)
    job_name = admission.owner_job(body)
    job = _one(jobs, (namespace or "", job_name)) if job_name else None
    owner = next(
        (
            ref
            for ref in (job or {}).get("metadata", {}).get("ownerReferences") or []
            if ref.get("controller") and ref.get("kind") == constants.KIND
        ),
        None,
    )
    if owner is None:
        return  # not the Workload of one of our Jobs
    key = (namespace or "", str(owner.get("name", "")))
    waiting = admission.pending_admission(body)
    await reconcile(runtime(memo), key, trainingjobs, jobs, logger, waiting)


# --- Suspend and resume ----------------------------------------------------------------------


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


# --- Retention ----------------------------------------------------------------------------------


def schedule_retention(rt: Runtime, tj: Snapshot, logger: kopf.Logger) -> None:
    """Delete a finished TrainingJob `retention` seconds after it finished (if set).

    A timer in memory, set again from the watch after a restart; deletion is conditional on
    the uid, so a newer object of the same name is never touched.
    """
    retention = rt.settings.trainingjob_retention_seconds
    key = (tj.namespace, tj.name)
    if retention <= 0 or key in rt.retention:
        return
    finished = parse_rfc3339(tj.status.get("completionTime")) or now_utc()
    delay = max(0.0, finished.timestamp() + retention - now_utc().timestamp())
    loop = asyncio.get_running_loop()

    def fire() -> None:
        task = loop.create_task(_expire(rt, tj, logger))
        rt.tasks.add(task)
        task.add_done_callback(rt.tasks.discard)

    rt.retention[key] = loop.call_later(delay, fire)


async def _expire(rt: Runtime, tj: Snapshot, logger: kopf.Logger) -> None:
    rt.retention.pop((tj.namespace, tj.name), None)
    try:
        if await rt.kube.delete_trainingjob(tj.namespace, tj.name, tj.uid):
            logger.info(
                f"deleted after the retention of {rt.settings.trainingjob_retention_seconds}s"
            )
    except KubeApiError as error:
        HANDLER_ERRORS.labels(handler="retention").inc()
        logger.error(f"retention: deleting {tj.namespace}/{tj.name} failed: {error.status}")


__all__ = ["JOBS", "TJ", "Phase", "Runtime", "Snapshot"]
