"""Suspend, resume, cancel and delete a FleetTrainingJob as a TrainingJob's: `spec.suspend`
reaches the Job (its pods go, the record stays), false resumes it, the cancelled annotation
shows as the Suspended condition's reason, and deleting the fleet deletes its Job, pods and
ConfigMap."""

from __future__ import annotations

from fleetkit import Fleets, fleet_body
from testkit import wait_for

from wattcast.crd import constants


def suspended_condition(fleets: Fleets, name: str) -> dict | None:
    status = fleets.status(name)
    if status.get("phase") != "Suspended":
        return None
    return next(c for c in status["conditions"] if c["type"] == "Suspended")


def test_suspend_resume_cancel_and_delete(fleets: Fleets) -> None:
    meters = ["pause-a", "pause-b"]
    fleets.load(meters)
    fleets.create(fleet_body("pause", meters, metersPerPod=1, parallelism=1, suspend=True))
    condition = wait_for("Suspended", lambda: suspended_condition(fleets, "pause"), 60)
    assert condition["reason"] == "Suspended"
    (job,) = fleets.jobs_of("pause")
    assert job["spec"]["suspend"] is True and fleets.pods_of("pause") == []

    patch = {"spec": {"suspend": False}}
    fleets.custom.patch_namespaced_custom_object(
        constants.GROUP, constants.VERSION, "default", constants.FLEET_PLURAL, "pause", patch
    )
    status = fleets.wait_phase("pause", "Succeeded", "Failed")
    assert status["phase"] == "Succeeded" and status["counts"]["succeeded"] == 2

    # Cancel (suspend + annotation) on a new fleet, then delete: everything it owns goes.
    body = fleet_body("cancel", meters, metersPerPod=1, parallelism=1, suspend=True)
    body["metadata"]["annotations"] = {constants.ANNOTATION_CANCELLED: "true"}
    fleets.create(body)
    condition = wait_for("cancelled", lambda: suspended_condition(fleets, "cancel"), 60)
    assert condition["reason"] == "Cancelled"
    fleets.custom.delete_namespaced_custom_object(
        constants.GROUP, constants.VERSION, "default", constants.FLEET_PLURAL, "cancel"
    )
    wait_for("the fleet gone", lambda: fleets.get("cancel") is None, 60)
    wait_for("its Job gone", lambda: not fleets.jobs_of("cancel"), 120)

    def configmap_gone() -> bool:
        names = {c.metadata.name for c in fleets.core.list_namespaced_config_map("default").items}
        return "cancel-fleet" not in names

    wait_for("its ConfigMap gone", configmap_gone, 120)
