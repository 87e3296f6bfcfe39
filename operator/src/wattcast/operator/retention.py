"""Retention: a finished TrainingJob is deleted `WATTCAST_TRAININGJOB_RETENTION_SECONDS` after
its `completionTime` (0 keeps it); its Job, pods and trainer identity follow by ownerReference.

The `expire` handler is a Kopf timer on finished TrainingJobs only (`applies`): Kopf spawns it
when a TrainingJob finishes, or when a restart lists a finished one, and stops it when the
object goes. Its first run waits `seconds_left` (computed from the status, so a restart
resumes the count where the API server's record puts it); the delete carries the TrainingJob's
uid as a precondition, so a newer object of the same name is never deleted. Like every Kopf
timer it makes Kopf put its finalizer (`wattcast.dev/operator`) on the finished TrainingJob
while retention is on (docs/operator.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import kopf

from wattcast.crd import TERMINAL_PHASES
from wattcast.crd.times import now_utc, parse_rfc3339
from wattcast.operator.kubeclient import KubeApiError, KubeClient

# Seconds between attempts when a delete failed (a missing right, the API server away).
RETRY_S = 60.0


def applies(status: Mapping[str, Any], retention_seconds: int) -> bool:
    """Whether the TrainingJob is one retention deletes: finished, with retention on."""
    return retention_seconds > 0 and status.get("phase") in TERMINAL_PHASES


def seconds_left(status: Mapping[str, Any], retention_seconds: int, now: datetime) -> float:
    """Seconds until the finished TrainingJob is due (0: now); no completionTime: a full term."""
    finished = parse_rfc3339(status.get("completionTime")) or now
    return max(0.0, finished.timestamp() + retention_seconds - now.timestamp())


async def expire(
    kube: KubeClient,
    namespace: str,
    name: str,
    uid: str,
    status: Mapping[str, Any],
    retention_seconds: int,
    logger: kopf.Logger,
) -> None:
    """Delete the TrainingJob when due, if it still is the object with `uid`.

    Early (a changed completionTime) or failed (a missing right, the API server away): raises
    kopf.TemporaryError, and Kopf runs the timer again after the delay.
    """
    left = seconds_left(status, retention_seconds, now_utc())
    if left > 0:
        raise kopf.TemporaryError(f"due in {left:.0f}s", delay=left)
    try:
        deleted = await kube.delete_trainingjob(namespace, name, uid)
    except KubeApiError as error:
        raise kopf.TemporaryError(
            f"retention: deleting {namespace}/{name} failed: {error.status} {error.reason}",
            delay=RETRY_S,
        ) from error
    if deleted:
        logger.info(f"deleted after the retention of {retention_seconds}s")
