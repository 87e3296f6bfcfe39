"""A FleetTrainingJob on the real control plane: one owned Indexed Job, every meter's model
saved through the model store contract, the status aggregated from the shards, Events."""

from __future__ import annotations

import json

from fleetkit import Fleets, fleet_body

from wattcast.crd import constants
from wattcast.crd.fleettrainingjob import FleetTrainingJobStatus, MeterOutcome
from wattcast.crd.modelstore import ModelMetadata


def test_a_fleet_trains_every_meter_in_one_indexed_job(fleets: Fleets) -> None:
    meters = ["happy-a", "happy-b", "happy-c", "happy-d", "happy-e"]
    fleets.load(meters)
    created = fleets.create(fleet_body("happy", meters, metersPerPod=2, parallelism=2))
    uid = created["metadata"]["uid"]

    status = fleets.wait_phase("happy", "Succeeded", "Failed")
    assert status["phase"] == "Succeeded", status
    FleetTrainingJobStatus.model_validate(status)
    assert status["counts"] == {
        "total": 5,
        "succeeded": 5,
        "failed": 0,
        "promoted": status["counts"]["promoted"],
        "beatBaseline": status["counts"]["beatBaseline"],
    }
    assert status["progress"] == {"finished": 5, "total": 5, "percent": 100, "inRunningShards": 0}
    assert status["shards"]["total"] == 3 and status["shards"]["completedIndexes"] == "0-2"
    assert status["metrics"]["maeOverBestBaseline"]["meters"] == 5
    assert {c["type"]: c["status"] for c in status["conditions"]}["Complete"] == "True"

    (job,) = fleets.jobs_of("happy")
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 3
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"]) == (constants.FLEET_KIND, uid)
    assert len(fleets.pods_of("happy")) == 3  # one pod per shard, none retried

    for meter in meters:
        (version,) = fleets.versions(meter)
        folder = fleets.stack.models_dir / "electricity" / meter / "versions" / version
        metadata = ModelMetadata.from_json_text((folder / "metadata.json").read_text())
        metadata.check_meter("electricity", meter)
        assert metadata.training_job.uid == uid
        outcome = MeterOutcome.model_validate_json(fleets.outcome_file(uid, meter).read_text())
        assert outcome.succeeded and outcome.version == version

    reasons = [e["reason"] for e in fleets.events_of("happy")]
    assert "Running" in reasons and "Succeeded" in reasons, reasons
    # The ConfigMap the shards read is the fleet's own.
    configmap = fleets.core.read_namespaced_config_map("happy-fleet", "default")
    assert json.loads(configmap.data["fleet.json"])["uid"] == uid
    assert configmap.metadata.owner_references[0].uid == uid


def test_a_discovered_fleet_fixes_its_meters_then_trains_them(fleets: Fleets) -> None:
    meters = ["disc-1", "disc-2", "disc-3"]
    fleets.load([*meters, "nodisc-1"])
    body = fleet_body("discover", [], metersPerPod=2, parallelism=2)
    body["spec"]["meters"] = {"discover": {"pattern": "^disc-"}}
    uid = fleets.create(body)["metadata"]["uid"]
    status = fleets.wait_phase("discover", "Succeeded", "Failed")
    assert status["phase"] == "Succeeded", status
    assert status["counts"]["total"] == 3 and status["counts"]["succeeded"] == 3
    assert status["meterList"] == f"model store: fleets/{uid}/meters.json"
    stored = json.loads((fleets.stack.models_dir / "fleets" / uid / "meters.json").read_text())
    assert stored == meters
    names = sorted(j["metadata"]["name"] for j in fleets.jobs_of("discover"))
    assert names == ["discover", "discover-discover"]
    assert fleets.versions("nodisc-1") == []
