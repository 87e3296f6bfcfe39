"""One pass over a FleetTrainingJob: its ConfigMap and its one Indexed Job made or adopted,
`spec.suspend` onto the Job, the status from the Job and its shards, an Event per transition.

Level-triggered and idempotent: the Kopf handlers run it on every event of the fleet and on a
timer, and after an operator restart it finds what exists. The Job has the fleet's name, so a
second creation answers 409 and the Job is adopted when its controller is this fleet (never two
Jobs); a Job of that name owned by something else fails the fleet with JobNameConflict. A fleet
whose `status.jobName` is set but whose Job is gone fails with JobLost (a new Job would rerun
shards, as a TrainingJob's would).
"""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
from pydantic import ValidationError

from wattcast.crd import Reason, constants
from wattcast.crd.fleettrainingjob import (
    MAX_SHARDS,
    DiscoveryReport,
    FleetPhase,
    FleetTrainingJobSpec,
    fleet_meters_path,
    progress_lease_name,
    shard_progress,
    shard_progress_key,
)
from wattcast.crd.messages import redacted
from wattcast.crd.times import now_utc
from wattcast.operator.fleet import aggregate, rendering
from wattcast.operator.identity import IdentityConflict, IdentityVanished, ensure_owned
from wattcast.operator.kubeclient import KubeApiError
from wattcast.operator.rendering import is_owned_by
from wattcast.operator.runtime import Runtime
from wattcast.operator.sources import SourceRefused, resolve_source

_locks: dict[tuple[str, str], asyncio.Lock] = {}


class Refused(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def _lock(key: tuple[str, str]) -> asyncio.Lock:
    return _locks.setdefault(key, asyncio.Lock())


def forget(key: tuple[str, str]) -> None:
    _locks.pop(key, None)


async def reconcile(
    rt: Runtime, body: kopf.Body, logger: kopf.Logger, *, live_progress: bool = False
) -> None:
    """See the module doc. Raises kopf.TemporaryError for what a retry may mend.

    `live_progress` (the timer's passes) also reads the running shards' progress Lease: so
    it moves the status at most once per sync interval, however often the shards report."""
    namespace, name = body.metadata.namespace or "", body.metadata.name or ""
    async with _lock((namespace, name)):
        await _reconcile(rt, body, namespace, name, logger, live_progress)


async def _reconcile(
    rt: Runtime,
    body: kopf.Body,
    namespace: str,
    name: str,
    logger: kopf.Logger,
    live_progress: bool,
) -> None:
    previous: dict[str, Any] = dict(body.get("status") or {})
    if FleetPhase(previous.get("phase") or "Pending").is_terminal:
        return
    if body.metadata.get("deletionTimestamp"):
        return
    uid = body.metadata.uid or ""
    now = now_utc()
    try:
        spec, meters, source = _prepare(rt, body)
        if meters is not None:
            total = len(meters)
            meter_list = "spec.meters.ids"
        else:
            discovered = await _discovered(rt, body, previous, spec, source, logger)
            if discovered is None:
                return  # discovery runs; its status is written
            total = discovered
            meter_list = f"model store: {fleet_meters_path(uid)}"
        if spec.shard_count(total) > MAX_SHARDS:
            raise Refused(Reason.INVALID_SPEC, f"more than {MAX_SHARDS} shards: raise metersPerPod")
        job = await _ensure_job(rt, namespace, name, uid, spec, total, source, previous)
    except Refused as refused:
        status = aggregate.failed_status(previous, refused.reason, refused.message, now)
        await _write(rt, body, previous, status, logger)
        return
    desired = bool(spec.suspend)
    if bool((job.get("spec") or {}).get("suspend")) != desired:
        patched = await rt.kube.patch_job(namespace, name, {"spec": {"suspend": desired}})
        job = patched or job
    pods = await rt.kube.list_job_pods(namespace, name)
    live = await _live_progress(rt, namespace, name, job, logger) if live_progress else None
    cancelled = constants.ANNOTATION_CANCELLED in (body.metadata.annotations or {})
    status = aggregate.fleet_status(
        previous={**previous, "meterList": meter_list},
        meters=meters,
        total=total,
        meters_per_pod=spec.effective_meters_per_pod,
        job=job,
        pods=pods,
        live=live,
        cancelled=cancelled,
        generation=body.metadata.get("generation"),
        now=now,
    )
    await _write(rt, body, previous, status, logger)


def _prepare(rt: Runtime, body: kopf.Body) -> tuple[FleetTrainingJobSpec, list[str] | None, Any]:
    try:
        spec = FleetTrainingJobSpec.model_validate(dict(body.get("spec") or {}))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5]
        )
        raise Refused(Reason.INVALID_SPEC, f"invalid spec: {problems}") from error
    meters = list(spec.meters.ids) if spec.meters.ids is not None else None
    try:
        source = resolve_source(spec.source, rt.sources)
    except SourceRefused as refused:
        raise Refused(refused.reason, refused.message) from refused
    return spec, meters, source


async def _ensure_owned(rt: Runtime, namespace: str, uid: str, objects: list[Any]) -> None:
    """The fleet's ConfigMap, or its progress Lease and shard identity: created, or found to be
    the fleet's (after a restart)."""
    try:
        await ensure_owned(rt.kube, namespace, uid, objects, owner="FleetTrainingJob's")
    except IdentityConflict as conflict:
        message = f"{conflict.message}; delete it or pick another name"
        raise Refused(Reason.JOB_NAME_CONFLICT, message) from conflict
    except IdentityVanished as vanished:
        raise kopf.TemporaryError(f"{vanished}; retrying", delay=1) from vanished
    except KubeApiError as error:
        raise _temporary("creating the fleet's objects", error) from error


async def _live_progress(
    rt: Runtime, namespace: str, name: str, job: dict[str, Any], logger: kopf.Logger
) -> dict[int, int]:
    """What the running shards have finished, from the fleet's progress Lease. Entries of
    shards the Job counts as finished are removed, so the Lease holds about `parallelism` of
    them. Best effort: without the Lease progress moves only as shards end."""
    job_status = job.get("status") or {}
    done = aggregate.parse_indexes(job_status.get("completedIndexes")) | aggregate.parse_indexes(
        job_status.get("failedIndexes")
    )
    lease_name = progress_lease_name(name)
    try:
        lease = await rt.kube.read_namespaced(namespace, "Lease", lease_name)
        live = shard_progress(((lease or {}).get("metadata") or {}).get("annotations"))
        stale = {shard_progress_key(index): None for index in live if index in done}
        if stale:
            patch = {"metadata": {"annotations": stale}}
            await rt.kube.patch_namespaced(namespace, "Lease", lease_name, patch)
    except KubeApiError as error:
        logger.warning(f"the progress Lease {lease_name}: {error.status} {error.reason}")
        return {}
    return {index: finished for index, finished in live.items() if index not in done}


async def _create_or_adopt(
    rt: Runtime, namespace: str, wanted: dict[str, Any], uid: str
) -> dict[str, Any]:
    """Create the Job, or adopt the one of that name this fleet owns (a restart's 409)."""
    name = wanted["metadata"]["name"]
    try:
        return await rt.kube.create_job(namespace, wanted)
    except KubeApiError as error:
        if error.status in (400, 422):
            raise Refused(
                Reason.INVALID_SPEC, f"the Job was refused: {redacted(error.message)}"[:1024]
            ) from error
        if error.status != 409:
            raise _temporary(f"creating the Job {name}", error) from error
    existing = await rt.kube.read_job(namespace, name)
    if existing is None:
        raise kopf.TemporaryError(f"Job {name} existed and vanished; retrying", delay=1)
    if not is_owned_by(existing, uid):
        raise Refused(Reason.JOB_NAME_CONFLICT, _conflict("Job", name, namespace))
    return existing


async def _ensure_job(
    rt: Runtime,
    namespace: str,
    name: str,
    uid: str,
    spec: FleetTrainingJobSpec,
    total: int,
    source: Any,
    previous: dict[str, Any],
) -> dict[str, Any]:
    """The fleet's Indexed Job: read, or created, or adopted; a vanished one is lost."""
    job = await rt.kube.read_job(namespace, name)
    if job is not None:
        if not is_owned_by(job, uid):
            raise Refused(Reason.JOB_NAME_CONFLICT, _conflict("Job", name, namespace))
        return job
    if previous.get("jobName"):
        raise Refused(Reason.JOB_LOST, f"the Job {name} was deleted while the fleet ran")
    configmap = rendering.render_configmap(name, namespace, uid, spec)
    progress = rendering.render_progress(name, namespace, uid, spec.meter_type.value)
    await _ensure_owned(rt, namespace, uid, [configmap, *progress])
    shards = spec.shard_count(total)
    wanted = rendering.render_job(name, namespace, uid, spec, shards, source, rt.settings)
    return await _create_or_adopt(rt, namespace, wanted, uid)


async def _discovered(
    rt: Runtime,
    body: kopf.Body,
    previous: dict[str, Any],
    spec: FleetTrainingJobSpec,
    source: Any,
    logger: kopf.Logger,
) -> int | None:
    """The discovered fleet's size: from the status once known, else from the discovery
    Job's report (None while it runs; the Discovering status is then written)."""
    known = (previous.get("counts") or {}).get("total")
    if known is not None and previous.get("meterList"):
        return int(known)
    namespace, name = body.metadata.namespace or "", body.metadata.name or ""
    uid = body.metadata.uid or ""
    job_name = rendering.discovery_job_name(name)
    job = await rt.kube.read_job(namespace, job_name)
    if job is None:
        configmap = rendering.render_configmap(name, namespace, uid, spec)
        await _ensure_owned(rt, namespace, uid, [configmap])
        wanted = rendering.render_discovery_job(name, namespace, uid, spec, source, rt.settings)
        job = await _create_or_adopt(rt, namespace, wanted, uid)
    elif not is_owned_by(job, uid):
        raise Refused(Reason.JOB_NAME_CONFLICT, _conflict("Job", job_name, namespace))
    true = {
        c.get("type")
        for c in (job.get("status") or {}).get("conditions") or []
        if c.get("status") == "True"
    }
    if true & {"Complete", "Failed"}:
        report = _discovery_report(await rt.kube.list_job_pods(namespace, job_name))
        if "Complete" in true and report is not None and report.phase == "Succeeded":
            return report.meters
        reason = report.reason if report is not None else Reason.TRAINING_ERROR
        words = report.message if report is not None else "the discovery pod failed"
        raise Refused(reason, f"meter discovery failed: {words}")
    status = aggregate.discovering_status(previous, job_name, now_utc())
    await _write(rt, body, previous, status, logger)
    return None


def _discovery_report(pods: list[dict[str, Any]]) -> DiscoveryReport | None:
    """The discovery pods' report: a successful one's, else any."""
    found = None
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            message = ((status.get("state") or {}).get("terminated") or {}).get("message")
            if not message:
                continue
            try:
                report = DiscoveryReport.model_validate_json(message)
            except ValueError:
                continue
            if found is None or report.phase == "Succeeded":
                found = report
    return found


def _conflict(kind: str, name: str, namespace: str) -> str:
    return (
        f"a {kind} named {name} already exists in {namespace} and is not this "
        "FleetTrainingJob's; delete it or pick another name"
    )


def _temporary(what: str, error: KubeApiError) -> kopf.TemporaryError:
    return kopf.TemporaryError(f"{what}: {error.status} {error.reason}", delay=5)


async def _write(
    rt: Runtime,
    body: kopf.Body,
    previous: dict[str, Any],
    status: dict[str, Any],
    logger: kopf.Logger,
) -> None:
    """Merge-patch what changed (keys gone are removed); an Event when the phase changes.

    The patch holds only if the fleet is still the version this pass read: the status's tally
    is carried from the previous one, and a pass on an outdated copy would count a shard twice.
    A conflict is left to the next pass (an event of the newer version, or the timer)."""
    if _same(previous, status):
        return
    patch: dict[str, Any] = {key: None for key in previous if key not in status}
    patch.update(status)
    namespace, name = body.metadata.namespace or "", body.metadata.name or ""
    version = body.metadata.get("resourceVersion")
    try:
        await rt.kube.patch_fleet_status(namespace, name, patch, resource_version=version)
    except KubeApiError as error:
        if error.status == 409:
            logger.debug("the fleet changed since this pass read it; the next pass writes")
            return
        if error.status == 422:  # the schema keeps a finished fleet finished
            logger.warning(f"status refused: {error.message}")
            return
        raise _temporary("writing the status", error) from error
    old, new = previous.get("phase"), status.get("phase")
    if old != new:
        failed = new == FleetPhase.FAILED.value
        kopf.event(
            body,
            type="Warning" if failed else "Normal",
            reason=str(new),
            message=f"{old or 'New'} -> {new}: {status.get('message', '')}"[:1024],
        )
        logger.info(f"phase {old} -> {new}: {status.get('message', '')}")


def _same(previous: dict[str, Any], status: dict[str, Any]) -> bool:
    """Equal but for condition timestamps that set_condition keeps anyway."""
    return previous == status
