"""A FleetTrainingJob's status, from its Indexed Job and what its shards report. Pure.

Each shard pod writes a `ShardReport` to its termination log: the counts of its whole shard
(meters an earlier attempt finished included), the MAE / best-baseline histogram and its first
failures. A shard's last finished pod speaks for it. Only finished shards (the Job's
completedIndexes and failedIndexes) are counted, each once: the status carries which shards
are in its counts (`shards.counted`, a `Tally`), so the counts never go down, and a shard's
meters stay counted after the pod garbage collector removed its pod. A shard that failed
without a report (killed, out of memory) counts all its meters as failed with `ShardFailed`;
one that succeeded and whose pod was removed before any pass read its report is not counted,
and the finished status says how many were. Shards still running add what they have finished
so far (their entries on the progress Lease) to `progress` only, never to `counts`;
`progress.finished` never goes down.
Nothing grows with the number of meters (wattcast.crd.fleettrainingjob).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from wattcast.crd import ConditionStatus, Reason, set_condition
from wattcast.crd.conditions import ConditionType
from wattcast.crd.fleettrainingjob import (
    MAX_INDEX_RANGES_LENGTH,
    MAX_STATUS_FAILURES,
    RATIO_BUCKET_EDGES,
    RATIO_BUCKETS,
    FleetPhase,
    ShardReport,
    decode_index_set,
    encode_index_set,
    ratio_quantile,
    shard_of,
)

INDEX_ANNOTATION: Final = "batch.kubernetes.io/job-completion-index"
SHARD_FAILED: Final = "ShardFailed"
FAILED_INDEXES: Final = "FailedIndexes"


def parse_indexes(ranges: str | None) -> set[int]:
    """The Job's compressed index list ("0-3,7") as a set."""
    result: set[int] = set()
    for part in (ranges or "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        result.update(range(int(low), int(high or low) + 1))
    return result


def bounded_ranges(ranges: str | None) -> str | None:
    if ranges is None or len(ranges) <= MAX_INDEX_RANGES_LENGTH:
        return ranges
    cut = ranges[: MAX_INDEX_RANGES_LENGTH - 3]
    return cut[: cut.rfind(",") + 1 or len(cut)] + "..."


def _finished_at(pod: dict[str, Any]) -> str:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated:
            return str(terminated.get("finishedAt") or "")
    return ""


def _report_of(pod: dict[str, Any]) -> ShardReport | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated") or {}
        message = terminated.get("message")
        if message:
            try:
                return ShardReport.model_validate_json(message)
            except (ValidationError, ValueError):
                return None
    return None


def shard_reports(pods: Iterable[dict[str, Any]]) -> dict[int, ShardReport]:
    """Each shard's report: its last finished pod's (a Succeeded pod's first)."""
    best: dict[int, tuple[tuple[bool, str], ShardReport]] = {}
    for pod in pods:
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        try:
            index = int(annotations[INDEX_ANNOTATION])
        except (KeyError, ValueError):
            continue
        report = _report_of(pod)
        if report is None or report.index != index:
            continue
        rank = ((pod.get("status") or {}).get("phase") == "Succeeded", _finished_at(pod))
        if index not in best or rank > best[index][0]:
            best[index] = (rank, report)
    return {index: report for index, (_, report) in best.items()}


@dataclass
class Tally:
    """The shards already counted and their sums, carried from one status to the next, so a
    shard's report counts once and stays counted after its pod is removed."""

    counted: set[int] = field(default_factory=set)
    succeeded: int = 0
    failed: int = 0
    promoted: int = 0
    beat: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * RATIO_BUCKETS)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, previous: dict[str, Any]) -> Tally:
        """The previous status's tally; an empty one (count again from the pods) when it has
        none or it does not add up."""
        try:
            counted = decode_index_set((previous.get("shards") or {}).get("counted"))
            counts = previous.get("counts") or {}
            buckets = (previous.get("metrics") or {}).get("histogram") or []
            histogram = [int(bucket["count"]) for bucket in buckets] or [0] * RATIO_BUCKETS
            tally = cls(
                counted=counted,
                succeeded=int(counts.get("succeeded") or 0),
                failed=int(counts.get("failed") or 0),
                promoted=int(counts.get("promoted") or 0),
                beat=int(counts.get("beatBaseline") or 0),
                histogram=histogram,
                failures=list(previous.get("failures") or []),
            )
        except (ValueError, KeyError, TypeError):
            return cls()
        return tally if counted and len(histogram) == RATIO_BUCKETS else cls()

    def fold(
        self,
        index: int,
        report: ShardReport | None,
        size: int,
        gave_up: bool,
        lost_meters: Sequence[str],
    ) -> None:
        """Count one finished shard: its report, or (failed without one) all its meters."""
        self.counted.add(index)
        room = MAX_STATUS_FAILURES - len(self.failures)
        if report is None:
            self.failed += size
            self.failures.extend(
                {"meter": m, "reason": SHARD_FAILED, "message": "its shard failed"}
                for m in lost_meters[: max(0, room)]
            )
            return
        self.succeeded += report.succeeded
        # A shard that gave up: every meter of it without a model failed.
        self.failed += (
            max(report.failed, report.meters - report.succeeded) if gave_up else report.failed
        )
        self.promoted += report.promoted
        self.beat += report.beat_baseline
        for bucket, count in enumerate(report.histogram[:RATIO_BUCKETS]):
            self.histogram[bucket] += count
        self.failures.extend(f.to_json_dict() for f in report.failures[: max(0, room)])


def _shard_size(index: int, total: int, meters_per_pod: int) -> int:
    return max(0, min(meters_per_pod, total - index * meters_per_pod))


def _job_condition(job: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == type_ and condition.get("status") == "True":
            return dict(condition)
    return None


def fleet_status(
    *,
    previous: dict[str, Any],
    meters: Sequence[str] | None,
    total: int,
    meters_per_pod: int,
    job: dict[str, Any],
    pods: Iterable[dict[str, Any]],
    cancelled: bool,
    generation: int | None,
    now: datetime,
    live: dict[int, int] | None = None,
) -> dict[str, Any]:
    """The whole status (JSON form) from the Job, its pods' reports and the running shards'
    live progress (`live`: {index: meters finished so far})."""
    job_status = job.get("status") or {}
    shards = int((job.get("spec") or {}).get("completions") or 1)
    completed = parse_indexes(job_status.get("completedIndexes"))
    failed_indexes = parse_indexes(job_status.get("failedIndexes"))
    reports = shard_reports(pods)
    tally = Tally.of(previous)
    for index in sorted((completed | failed_indexes) - tally.counted):
        report = reports.get(index)
        if report is None and index not in failed_indexes:
            continue  # succeeded, but its pod's report is not seen (yet, or ever: unreported)
        lost = shard_of(list(meters), index, meters_per_pod) if report is None and meters else []
        size = _shard_size(index, total, meters_per_pod)
        tally.fold(index, report, size, index in failed_indexes, lost)
    unreported = len(completed - tally.counted)
    succeeded, failed, histogram = tally.succeeded, tally.failed, tally.histogram
    in_counts = min(total, succeeded + failed)
    done = completed | failed_indexes
    running = sum(
        min(finished, _shard_size(index, total, meters_per_pod))
        for index, finished in (live or {}).items()
        if index not in done
    )
    earlier = int((previous.get("progress") or {}).get("finished") or 0)
    finished = min(total, max(earlier, in_counts + running))
    status: dict[str, Any] = {
        "jobName": (job.get("metadata") or {}).get("name"),
        "meterList": previous.get("meterList"),
        "observedGeneration": generation,
        "counts": {
            "total": total,
            "succeeded": succeeded,
            "failed": failed,
            "promoted": tally.promoted,
            "beatBaseline": tally.beat,
        },
        "progress": {
            "finished": finished,
            "total": total,
            "percent": int(100 * finished / total) if total else 100,
            "inRunningShards": finished - in_counts,
        },
        "failures": tally.failures or None,
        "shards": {
            "total": shards,
            "succeeded": len(completed),
            "failed": len(failed_indexes),
            "active": int(job_status.get("active") or 0),
            "completedIndexes": bounded_ranges(job_status.get("completedIndexes")) or None,
            "failedIndexes": bounded_ranges(job_status.get("failedIndexes")) or None,
            "counted": encode_index_set(tally.counted) if tally.counted else None,
        },
        "startTime": job_status.get("startTime") or previous.get("startTime"),
    }
    measured = sum(histogram)
    if measured:
        status["metrics"] = {
            "maeOverBestBaseline": {
                "median": ratio_quantile(histogram, 0.5),
                "p90": ratio_quantile(histogram, 0.9),
                "meters": measured,
            },
            "histogram": [
                {"le": edge, "count": histogram[i]} for i, edge in enumerate(RATIO_BUCKET_EDGES)
            ]
            + [{"count": histogram[-1]}],
        }
    phase, reason, message = _phase(job, cancelled, len(completed), len(failed_indexes), shards)
    summary = f"{finished} of {total} meters finished ({succeeded} succeeded, {failed} failed)"
    if unreported and phase.is_terminal:
        summary += (
            f"; the reports of {unreported} succeeded shards were lost (their pods were "
            "removed before the operator read them): their meters are not counted"
        )
    status["phase"] = phase.value
    status["message"] = f"{message}; {summary}" if message else summary
    if phase.is_terminal:
        status["completionTime"] = job_status.get("completionTime") or now.isoformat()
    status["conditions"] = _conditions(previous.get("conditions"), phase, reason, message, now)
    pruned: dict[str, Any] = _without_none(status)
    return pruned


def _without_none(value: Any) -> Any:
    """Drop None at every depth, as the API server does when it stores the status: what a
    pass writes must equal what the next pass reads, or every pass would write again."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _phase(
    job: dict[str, Any], cancelled: bool, done: int, failed: int, shards: int
) -> tuple[FleetPhase, str, str]:
    complete = _job_condition(job, "Complete")
    if complete is not None:
        return FleetPhase.SUCCEEDED, Reason.TRAINING_SUCCEEDED, f"all {shards} shards finished"
    failure = _job_condition(job, "Failed")
    if failure is not None:
        reason = str(failure.get("reason") or Reason.BACKOFF_LIMIT_EXCEEDED)
        words = f"{failed} of {shards} shards failed after their retries"
        if reason != FAILED_INDEXES:
            words = str(failure.get("message") or reason)
        return FleetPhase.FAILED, reason, words
    if (job.get("spec") or {}).get("suspend"):
        reason = Reason.CANCELLED if cancelled else Reason.SUSPENDED
        return FleetPhase.SUSPENDED, reason, "suspended"
    return FleetPhase.RUNNING, Reason.POD_RUNNING, f"{done} of {shards} shards done"


def _conditions(
    previous: list[dict[str, Any]] | None,
    phase: FleetPhase,
    reason: str,
    message: str,
    now: datetime,
) -> list[dict[str, Any]]:
    conditions = set_condition(
        previous,
        type=ConditionType.JOB_CREATED,
        status=ConditionStatus.TRUE,
        reason=Reason.JOB_CREATED,
        now=now,
    )
    suspended = phase is FleetPhase.SUSPENDED
    conditions = set_condition(
        conditions,
        type=ConditionType.SUSPENDED,
        status=suspended,
        reason=reason if suspended else Reason.RESUMED,
        message=message if suspended else "",
        now=now,
    )
    conditions = set_condition(
        conditions,
        type=ConditionType.RUNNING,
        status=phase is FleetPhase.RUNNING,
        reason=reason if phase is FleetPhase.RUNNING else phase.value,
        now=now,
    )
    if phase is FleetPhase.SUCCEEDED:
        conditions = set_condition(
            conditions, type=ConditionType.COMPLETE, status=True, reason=reason, now=now
        )
    if phase is FleetPhase.FAILED:
        conditions = set_condition(
            conditions,
            type=ConditionType.FAILED,
            status=True,
            reason=reason,
            message=message,
            now=now,
        )
    return conditions


def discovering_status(previous: dict[str, Any], job_name: str, now: datetime) -> dict[str, Any]:
    """Discovery runs: the meter list is not fixed yet."""
    return {
        **{k: v for k, v in previous.items() if k in ("startTime", "observedGeneration")},
        "phase": FleetPhase.DISCOVERING.value,
        "message": f"discovering the meters (Job {job_name})",
        "conditions": set_condition(
            previous.get("conditions"),
            type=ConditionType.JOB_CREATED,
            status=True,
            reason=Reason.JOB_CREATED,
            message=f"discovery Job {job_name}",
            now=now,
        ),
    }


def failed_status(
    previous: dict[str, Any], reason: str, message: str, now: datetime
) -> dict[str, Any]:
    """Failed for a reason of the operator's own (no Job, or the Job was lost)."""
    return {
        "phase": FleetPhase.FAILED.value,
        "message": message[:4096],
        "completionTime": now.isoformat(),
        "conditions": set_condition(
            previous.get("conditions"),
            type=ConditionType.FAILED,
            status=True,
            reason=reason,
            message=message,
            now=now,
        ),
    }


__all__ = ["discovering_status", "failed_status", "fleet_status", "parse_indexes", "shard_reports"]
