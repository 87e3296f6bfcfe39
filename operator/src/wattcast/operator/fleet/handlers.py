"""The FleetTrainingJob's Kopf handlers: every event of a fleet, and a timer while it runs,
run one `reconcile` pass (level-triggered: any of them converges the fleet).

The timer (WATTCAST_FLEET_SYNC_SECONDS, default 5) follows the Job and its shards without a
watch of its own on Jobs or pods, so the TrainingJob's watches stay as they are; only its
passes read the running shards' progress Lease (an event pass would follow every status write
with another). Kopf puts its
finalizer on a fleet while the timer runs, and takes it off when the fleet is deleted.
"""

from __future__ import annotations

from typing import Any

import kopf

from wattcast.crd import constants
from wattcast.crd.fleettrainingjob import FleetPhase
from wattcast.operator.fleet import reconcile
from wattcast.operator.runtime import runtime_of
from wattcast.operator.settings import get_settings

FTJ = (constants.GROUP, constants.VERSION, constants.FLEET_PLURAL)
# Read once, when Kopf registers the timer (the process start).
SYNC_SECONDS = get_settings().fleet_sync_seconds


def _running(status: kopf.Status, **_: Any) -> bool:
    return not FleetPhase(status.get("phase") or "Pending").is_terminal


@kopf.on.event(*FTJ)
async def fleet_event(type: str, body: kopf.Body, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    if type == "DELETED":
        reconcile.forget((body.metadata.namespace or "", body.metadata.name or ""))
        return
    if body.metadata.get("deletionTimestamp"):
        return
    await reconcile.reconcile(runtime_of(memo), body, logger)


@kopf.timer(*FTJ, interval=SYNC_SECONDS, when=_running)
async def fleet_sync(body: kopf.Body, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    await reconcile.reconcile(runtime_of(memo), body, logger, live_progress=True)
