"""A running shard's progress reaches the FleetTrainingJob before the shard ends: the shard pod
runs as the fleet's own ServiceAccount, whose token may write only the fleet's progress Lease,
and the operator adds the Lease's entries to `status.progress` (docs/operator.md, fleets)."""

from __future__ import annotations

import time

from fleetkit import WAIT_S, Fleets, fleet_body
from kubernetes import client

from wattcast.crd.fleettrainingjob import FleetTrainingJobStatus


def test_a_running_shard_moves_the_fleets_progress(fleets: Fleets) -> None:
    meters = [f"live-{i}" for i in range(8)]
    fleets.load(meters)
    uid = fleets.create(fleet_body("live", meters, metersPerPod=8, parallelism=1))["metadata"][
        "uid"
    ]

    seen: list[dict] = []
    started = time.monotonic()
    deadline = started + WAIT_S
    while time.monotonic() < deadline:
        status = fleets.status("live")
        if status.get("progress"):
            seen.append(status)
        if status.get("phase") in ("Succeeded", "Failed"):
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    assert seen and seen[-1]["phase"] == "Succeeded", seen[-1:]
    FleetTrainingJobStatus.model_validate(seen[-1])
    # Seen mid-way: meters finished while the fleet's one shard still ran, in progress only.
    partial = [
        s["progress"]
        for s in seen
        if s["shards"]["succeeded"] == 0 and 0 < s["progress"]["finished"] < len(meters)
    ]
    assert partial, [s["progress"] for s in seen]
    assert all(p["inRunningShards"] == p["finished"] for p in partial)
    finished = [s["progress"]["finished"] for s in seen]
    assert finished == sorted(finished)  # never back
    assert seen[-1]["progress"] == {"finished": 8, "total": 8, "percent": 100, "inRunningShards": 0}

    # Each operator pass lists the fleet's pods once (the audit log records those lists). The
    # timer runs once a second here; a status write triggers one more pass, which must not
    # write again: a pass that always wrote would loop many times a second.
    passes = [
        event
        for event in fleets.stack.cluster.control_plane.audit_events()
        if event.get("stage") == "ResponseComplete"
        and event.get("verb") == "list"
        and "job-name%3Dlive" in event.get("requestURI", "")
    ]
    assert len(passes) <= 3 * elapsed + 20, (len(passes), elapsed)

    (pod,) = fleets.pods_of("live")
    assert pod["spec"]["serviceAccountName"] == "wattcast-shard-live"
    lease = client.CoordinationV1Api(fleets.stack.admin).read_namespaced_lease(
        "live-progress", fleets.namespace
    )
    assert lease.metadata.owner_references[0].uid == uid
    assert not (lease.metadata.annotations or {})  # the finished shard's entry was removed


def test_a_shards_token_can_write_nothing_but_its_progress_lease(fleets: Fleets) -> None:
    """What the shard's ServiceAccount may do, asked of the real API server's authorizer."""
    meters = ["rights-1"]
    fleets.load(meters)
    fleets.create(fleet_body("rights", meters))
    fleets.wait_phase("rights", "Succeeded", "Failed")
    authorization = client.AuthorizationV1Api(fleets.stack.admin)
    account = f"system:serviceaccount:{fleets.namespace}:wattcast-shard-rights"

    def allowed(verb: str, group: str, resource: str, name: str) -> bool:
        review = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=account,
                groups=["system:serviceaccounts", f"system:serviceaccounts:{fleets.namespace}"],
                resource_attributes=client.V1ResourceAttributes(
                    namespace=fleets.namespace,
                    verb=verb,
                    group=group,
                    resource=resource,
                    name=name,
                ),
            )
        )
        return bool(authorization.create_subject_access_review(review).status.allowed)

    assert allowed("patch", "coordination.k8s.io", "leases", "rights-progress")
    assert not allowed("patch", "coordination.k8s.io", "leases", "live-progress")
    assert not allowed("delete", "coordination.k8s.io", "leases", "rights-progress")
    assert not allowed("patch", "wattcast.dev", "fleettrainingjobs", "rights")
    assert not allowed("patch", "wattcast.dev", "fleettrainingjobs/status", "rights")
    assert not allowed("get", "", "secrets", "")
    assert not allowed("create", "batch", "jobs", "")
    account_object = fleets.core.read_namespaced_service_account(
        "wattcast-shard-rights", fleets.namespace
    )
    assert account_object.metadata.owner_references[0].name == "rights"
