"""A FleetTrainingJob's Indexed Job and ConfigMap (wattcast.operator.fleet.rendering), and its
status from the Job and the shards' reports (wattcast.operator.fleet.aggregate)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from wattcast.crd import InfluxSource, constants
from wattcast.crd.fleettrainingjob import (
    RATIO_BUCKETS,
    FleetTrainingJobSpec,
    FleetTrainingJobStatus,
    MeterFailure,
    ShardReport,
    decode_index_set,
)
from wattcast.operator.fleet import aggregate, rendering
from wattcast.operator.settings import OperatorSettings

UID = "0a1b2c3d-0000-4000-8000-000000000001"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
METERS = [f"m{i}" for i in range(5)]


def spec(**changes: Any) -> FleetTrainingJobSpec:
    return FleetTrainingJobSpec.model_validate(
        {
            "meters": {"ids": METERS},
            "meterType": "water",
            "start": "2023-01-01T00:00:00Z",
            "end": "2023-03-01T00:00:00Z",
            "metersPerPod": 2,
            **changes,
        }
    )


def job(**status: Any) -> dict[str, Any]:
    body = rendering.render_job(
        "fleet", "ns", UID, spec(), 3, InfluxSource(url="http://influx:8086"), OperatorSettings()
    )
    body["status"] = status
    return body


def pod(index: int, phase: str, report: ShardReport | None, finished: str = "t1") -> dict:
    terminated: dict[str, Any] = {"finishedAt": finished}
    if report is not None:
        terminated["message"] = report.to_bytes().decode()
    return {
        "metadata": {"annotations": {aggregate.INDEX_ANNOTATION: str(index)}},
        "status": {"phase": phase, "containerStatuses": [{"state": {"terminated": terminated}}]},
    }


def report(index: int, succeeded: int, failed: int = 0, phase: str = "Succeeded") -> ShardReport:
    histogram = [0] * RATIO_BUCKETS
    histogram[15] = succeeded  # ratio 0.75..0.8
    return ShardReport(
        index=index,
        phase=phase,
        reason="ShardSucceeded" if phase == "Succeeded" else "InfluxUnavailable",
        meters=2 if index < 2 else 1,
        succeeded=succeeded,
        failed=failed,
        promoted=succeeded,
        beat_baseline=succeeded,
        histogram=histogram,
        failures=[MeterFailure(meter=f"m{index * 2}", reason="NoData")] if failed else [],
    )


def fleet_status(
    *,
    job: dict[str, Any],
    pods: list[dict[str, Any]],
    cancelled: bool = False,
    generation: int = 1,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The status of the five-meter fleet, two meters a pod, seen at NOW (with no previous one
    unless given)."""
    return aggregate.fleet_status(
        previous=previous or {},
        meters=METERS,
        total=len(METERS),
        meters_per_pod=2,
        job=job,
        pods=pods,
        cancelled=cancelled,
        generation=generation,
        now=NOW,
    )


def test_one_indexed_job_owned_by_the_fleet() -> None:
    body = job()
    job_spec = body["spec"]
    assert job_spec["completionMode"] == "Indexed"
    assert (job_spec["completions"], job_spec["parallelism"]) == (3, 3)
    assert job_spec["backoffLimitPerIndex"] == 3
    assert job_spec["podReplacementPolicy"] == "Failed"
    rules = job_spec["podFailurePolicy"]["rules"]
    assert rules[0]["action"] == "FailIndex"
    assert rules[0]["onExitCodes"]["values"] == [constants.EXIT_PERMANENT]
    assert rules[1]["action"] == "Ignore"
    owner = body["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("FleetTrainingJob", UID, True)
    pod_spec = job_spec["template"]["spec"]
    # The shards' own identity: its token may write the fleet's progress Lease and nothing else.
    assert pod_spec["serviceAccountName"] == "wattcast-shard-fleet"
    assert pod_spec["automountServiceAccountToken"] is True
    env = {e["name"]: e.get("value") for e in pod_spec["containers"][0]["env"]}
    assert env[constants.ENV_FLEET_PROGRESS_LEASE] == "fleet-progress"
    assert pod_spec["containers"][0]["command"] == [constants.FLEET_SHARD_COMMAND]
    labels = job_spec["template"]["metadata"]["labels"]
    assert constants.LABEL_TRAININGJOB not in labels
    assert labels[constants.LABEL_FLEETTRAININGJOB] == "fleet"


def test_the_configmap_holds_the_fleet_the_shards_read() -> None:
    body = rendering.render_configmap("fleet", "ns", UID, spec())
    assert body["immutable"] is True
    document = json.loads(body["data"][rendering.FLEET_FILE])
    assert document["uid"] == UID
    assert document["spec"]["meters"]["ids"] == METERS


def test_status_counts_finished_shards_only() -> None:
    pods = [
        pod(0, "Succeeded", report(0, 2)),
        pod(1, "Succeeded", report(1, 1, failed=1)),
        pod(2, "Running", None),
    ]
    status = fleet_status(job=job(completedIndexes="0-1", active=1), pods=pods)
    FleetTrainingJobStatus.model_validate(status)
    assert status["phase"] == "Running"
    assert status["counts"] == {
        "total": 5,
        "succeeded": 3,
        "failed": 1,
        "promoted": 3,
        "beatBaseline": 3,
    }
    assert status["progress"] == {"finished": 4, "total": 5, "percent": 80, "inRunningShards": 0}
    assert status["failures"] == [{"meter": "m2", "reason": "NoData", "message": ""}]
    assert status["shards"]["completedIndexes"] == "0-1"
    assert 0.75 <= status["metrics"]["maeOverBestBaseline"]["median"] <= 0.8


def test_a_failed_shard_fails_its_meters_and_the_rest_stand() -> None:
    pods = [
        pod(0, "Succeeded", report(0, 2)),
        pod(1, "Succeeded", report(1, 2)),
        pod(2, "Failed", report(2, 0, failed=1, phase="Failed"), finished="t2"),
        pod(2, "Failed", None, finished="t1"),
    ]
    failed = {"type": "Failed", "status": "True", "reason": "FailedIndexes"}
    status = fleet_status(
        job=job(completedIndexes="0-1", failedIndexes="2", conditions=[failed]), pods=pods
    )
    FleetTrainingJobStatus.model_validate(status)
    assert status["phase"] == "Failed"
    assert (status["counts"]["succeeded"], status["counts"]["failed"]) == (4, 1)
    assert "1 of 3 shards failed" in status["message"]
    types = {c["type"]: c for c in status["conditions"]}
    assert types["Failed"]["reason"] == "FailedIndexes"


def test_a_shard_lost_without_a_report_fails_all_its_meters() -> None:
    failed = {"type": "Failed", "status": "True", "reason": "FailedIndexes"}
    status = fleet_status(
        job=job(failedIndexes="1", completedIndexes="0,2", conditions=[failed]),
        pods=[pod(0, "Succeeded", report(0, 2)), pod(2, "Succeeded", report(2, 1))],
    )
    assert status["counts"]["failed"] == 2
    assert [f["meter"] for f in status["failures"]] == ["m2", "m3"]
    assert {f["reason"] for f in status["failures"]} == {aggregate.SHARD_FAILED}


def test_a_counted_shard_stays_counted_once_its_pod_is_gone() -> None:
    first = fleet_status(
        job=job(completedIndexes="0", active=2),
        pods=[pod(0, "Succeeded", report(0, 1, failed=1)), pod(1, "Running", None)],
    )
    assert decode_index_set(first["shards"]["counted"]) == {0}
    # The pod garbage collector removed shard 0's pod; shard 1 finished meanwhile.
    complete = {"type": "Complete", "status": "True"}
    later = job(completedIndexes="0-2", conditions=[complete])
    pods = [pod(1, "Succeeded", report(1, 2)), pod(2, "Succeeded", report(2, 1))]
    second = fleet_status(job=later, pods=pods, previous=first)
    FleetTrainingJobStatus.model_validate(second)
    assert (second["counts"]["succeeded"], second["counts"]["failed"]) == (4, 1)
    assert second["failures"] == [{"meter": "m0", "reason": "NoData", "message": ""}]
    assert second["metrics"]["maeOverBestBaseline"]["meters"] == 4
    # A pass that reads the same again counts nothing twice.
    assert fleet_status(job=later, pods=pods, previous=second)["counts"] == second["counts"]
    # Without the tally (an unreadable one, or a status of an older operator) the pods are
    # counted again: here shard 0 is gone, and the finished status says so.
    broken = {**second, "shards": {**second["shards"], "counted": "not a bitmap"}}
    recount = fleet_status(job=later, pods=pods, previous=broken)
    assert recount["counts"]["succeeded"] == 3
    assert "the reports of 1 succeeded shards were lost" in recount["message"]


def test_suspended_and_cancelled() -> None:
    body = job()
    body["spec"]["suspend"] = True
    status = fleet_status(job=body, pods=[], cancelled=True, generation=2)
    assert status["phase"] == "Suspended"
    suspended = next(c for c in status["conditions"] if c["type"] == "Suspended")
    assert (suspended["status"], suspended["reason"]) == ("True", "Cancelled")


def test_index_ranges() -> None:
    assert aggregate.parse_indexes("0-3,7,9-10") == {0, 1, 2, 3, 7, 9, 10}
    assert aggregate.parse_indexes(None) == set()
    long = ",".join(str(i) for i in range(0, 20000, 2))
    cut = aggregate.bounded_ranges(long)
    assert cut is not None and len(cut) <= 8192 and cut.endswith("...")


def test_the_discovery_job_is_one_pod_of_the_shard_runner() -> None:
    discovering = spec(meters={"discover": {"pattern": "^site-"}})
    body = rendering.render_discovery_job(
        "fleet", "ns", UID, discovering, InfluxSource(url="http://influx:8086"), OperatorSettings()
    )
    job_spec = body["spec"]
    assert body["metadata"]["name"] == "fleet-discover"
    assert "completionMode" not in job_spec and "backoffLimitPerIndex" not in job_spec
    command = job_spec["template"]["spec"]["containers"][0]["command"]
    assert command == [constants.FLEET_SHARD_COMMAND, "--discover"]
    assert job_spec["podFailurePolicy"]["rules"][0]["action"] == "FailJob"
    # Discovery reports through its termination log only: no identity, no token.
    pod_spec = job_spec["template"]["spec"]
    assert "serviceAccountName" not in pod_spec
    assert pod_spec["automountServiceAccountToken"] is False


def test_the_shards_may_write_only_their_fleets_progress_lease() -> None:
    lease, account, role, binding = rendering.render_progress("fleet", "ns", UID, "water")
    assert (lease["kind"], lease["metadata"]["name"]) == ("Lease", "fleet-progress")
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["fleet-progress"],
            "verbs": ["get", "patch"],
        }
    ]
    assert account["automountServiceAccountToken"] is False  # only the shard pods ask
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "wattcast-shard-fleet", "namespace": "ns"}
    ]
    for body in (lease, account, role, binding):
        owner = body["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["uid"]) == ("FleetTrainingJob", UID)


def test_running_shards_add_their_live_progress_to_progress_only() -> None:
    pods = [pod(0, "Succeeded", report(0, 2)), pod(1, "Running", None), pod(2, "Running", None)]
    live = {0: 2, 1: 1, 2: 7}  # shard 0's entry is stale; shard 2 has one meter, not 7
    status = aggregate.fleet_status(
        previous={"progress": {"finished": 1, "total": 5, "percent": 20}},
        meters=METERS,
        total=len(METERS),
        meters_per_pod=2,
        job=job(completedIndexes="0", active=2),
        pods=pods,
        live=live,
        cancelled=False,
        generation=1,
        now=NOW,
    )
    FleetTrainingJobStatus.model_validate(status)
    assert status["counts"]["succeeded"] == 2 and status["counts"]["failed"] == 0
    assert status["progress"] == {"finished": 4, "total": 5, "percent": 80, "inRunningShards": 2}
    # A retried shard starts lower than its killed attempt got: progress does not go back.
    later = aggregate.fleet_status(
        previous=status,
        meters=METERS,
        total=len(METERS),
        meters_per_pod=2,
        job=job(completedIndexes="0", active=2),
        pods=pods,
        live={1: 0, 2: 1},
        cancelled=False,
        generation=1,
        now=NOW,
    )
    assert later["progress"]["finished"] == 4


def test_the_jobs_and_configmap_are_valid_kubernetes_objects() -> None:
    import kubernetes_validate

    source = InfluxSource(url="http://influx:8086")
    discovering = spec(meters={"discover": {}})
    for body in (
        job(),
        rendering.render_discovery_job("fleet", "ns", UID, discovering, source, OperatorSettings()),
        rendering.render_configmap("fleet", "ns", UID, spec()),
        *rendering.render_progress("fleet", "ns", UID, "water"),
    ):
        body.pop("status", None)
        kubernetes_validate.validate(body, "1.34", strict=True)
