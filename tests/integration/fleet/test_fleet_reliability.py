"""A fleet survives what a cluster does to it: a shard pod killed mid-way retries only its
index and keeps its finished meters; a restarted operator keeps exactly one Job; InfluxDB down
for one shard fails that shard's meters with a clear reason while the rest succeed."""

from __future__ import annotations

from fleetkit import Fleets, Proxy, fleet_body, index_of
from testkit import wait_for

from wattcast.crd import Reason
from wattcast.devtools.stack import LocalStack


def test_a_killed_shard_retries_alone_and_keeps_its_finished_meters(fleets: Fleets) -> None:
    meters = [f"kill-{i}" for i in range(12)]
    fleets.load(meters)
    uid = fleets.create(fleet_body("kill", meters, metersPerPod=6, parallelism=2))["metadata"][
        "uid"
    ]
    first, last = meters[0], meters[5]

    def shard_zero_half_done() -> bool:
        return (
            fleets.outcome_file(uid, first).exists() and not fleets.outcome_file(uid, last).exists()
        )

    wait_for("shard 0 to finish its first meter", shard_zero_half_done, 300)
    version_before = fleets.versions(first)
    (victim,) = [
        p
        for p in fleets.pods_of("kill")
        if index_of(p) == 0 and p["status"].get("phase") == "Running"
    ]
    fleets.core.delete_namespaced_pod(victim["metadata"]["name"], "default")

    status = fleets.wait_phase("kill", "Succeeded", "Failed")
    assert status["phase"] == "Succeeded", status
    assert status["counts"]["succeeded"] == 12
    # The deleted pod is gone from the API; the Job counted it as index 0's one failure.
    pods = fleets.pods_of("kill")
    assert victim["metadata"]["name"] not in {p["metadata"]["name"] for p in pods}
    assert sorted(index_of(p) for p in pods) == [0, 1], "index 1 never ran twice"
    (job,) = fleets.jobs_of("kill")
    assert job["status"].get("failed") == 1 and not job["status"].get("failedIndexes")
    assert fleets.versions(first) == version_before, "a finished meter was trained again"
    assert all(len(fleets.versions(m)) == 1 for m in meters)


def test_a_restarted_operator_keeps_exactly_one_job(fleets: Fleets, stack: LocalStack) -> None:
    meters = ["restart-a", "restart-b", "restart-c"]
    fleets.load(meters)
    fleets.create(fleet_body("restart", meters, metersPerPod=1, parallelism=1))
    wait_for("the Job", lambda: fleets.jobs_of("restart"), 60)
    stack.restart_operator(kill=True)
    wait_for("a second shard", lambda: len(fleets.pods_of("restart")) >= 2, 300)
    stack.restart_operator(kill=True)
    status = fleets.wait_phase("restart", "Succeeded", "Failed")
    assert status["phase"] == "Succeeded", status
    assert len(fleets.jobs_of("restart")) == 1
    assert status["counts"]["succeeded"] == 3


def test_influxdb_down_for_one_shard_fails_its_meters_only(
    fleets: Fleets, fleet_stack: tuple[LocalStack, Proxy]
) -> None:
    _, proxy = fleet_stack
    meters = ["down-a", "down-b", "down-c", "down-d"]
    fleets.load(meters)
    body = fleet_body("down", meters, metersPerPod=2, parallelism=1, backoffLimitPerIndex=1)
    body["spec"]["source"] = {"name": "flaky"}
    uid = fleets.create(body)["metadata"]["uid"]
    try:
        wait_for(
            "shard 0's meters",
            lambda: all(fleets.outcome_file(uid, m).exists() for m in meters[:2]),
            300,
        )
        proxy.down()
        status = fleets.wait_phase("down", "Succeeded", "Failed", timeout=600)
    finally:
        proxy.up = True
    assert status["phase"] == "Failed", status
    assert status["counts"]["succeeded"] == 2 and status["counts"]["failed"] == 2
    assert status["shards"]["failedIndexes"] == "1"
    failures = {f["meter"]: f for f in status["failures"]}
    assert set(failures) == {"down-c", "down-d"}
    assert {f["reason"] for f in failures.values()} == {Reason.INFLUX_UNAVAILABLE}
    assert sorted(index_of(p) for p in fleets.pods_of("down")) == [0, 1, 1]
