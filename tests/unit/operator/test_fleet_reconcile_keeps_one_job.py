"""One reconcile pass of a FleetTrainingJob against an in-memory API: it creates the ConfigMap,
the progress Lease, the shards' identity and one Job, a later pass (a restarted operator) adopts
instead of creating, a Job or Role of someone else's fails the fleet, a vanished Job is lost,
spec.suspend reaches the Job, and running shards' live progress shows while finished shards'
entries leave the Lease."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
import pytest

from wattcast.crd import InfluxSource
from wattcast.crd.kubeapi import KubeApiError
from wattcast.operator.fleet import reconcile
from wattcast.operator.runtime import Runtime
from wattcast.operator.settings import OperatorSettings

UID = "0a1b2c3d-0000-4000-8000-000000000003"


class FakeKube:
    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.object_patches: list[tuple[str, str, dict[str, Any]]] = []
        self.created: list[str] = []
        self.status: dict[str, Any] = {}
        self.job_patches: list[dict[str, Any]] = []
        self.race = False
        self.version = "1"

    async def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        if self.race:  # another pass created it between our read and our create
            self.race = False
            return None
        return self.jobs.get(name)

    async def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        if name in self.jobs:
            raise KubeApiError(409, "AlreadyExists")
        self.created.append(name)
        self.jobs[name] = {**body, "status": {}}
        return self.jobs[name]

    async def patch_job(self, namespace: str, name: str, patch: dict[str, Any]) -> dict | None:
        self.job_patches.append(patch)
        self.jobs[name]["spec"].update(patch["spec"])
        return self.jobs[name]

    async def list_job_pods(self, namespace: str, job_name: str) -> list[dict[str, Any]]:
        return []

    async def create_namespaced(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        key = (body["kind"], body["metadata"]["name"])
        if key in self.objects:
            raise KubeApiError(409, "AlreadyExists")
        self.objects[key] = body
        return body

    async def read_namespaced(self, namespace: str, kind: str, name: str) -> dict | None:
        return self.objects.get((kind, name))

    async def patch_namespaced(
        self, namespace: str, kind: str, name: str, patch: dict[str, Any]
    ) -> dict | None:
        self.object_patches.append((kind, name, patch))
        annotations = self.objects[(kind, name)]["metadata"].setdefault("annotations", {})
        for key, value in patch["metadata"]["annotations"].items():
            if value is None:
                annotations.pop(key, None)
            else:
                annotations[key] = value
        return self.objects[(kind, name)]

    async def patch_fleet_status(
        self,
        namespace: str,
        name: str,
        patch: dict[str, Any],
        *,
        resource_version: str | None = None,
    ) -> None:
        if resource_version != self.version:
            raise KubeApiError(409, "Conflict")
        merged = merge_patch(self.status, patch)
        if merged != self.status:  # the API server bumps the version only on a change
            self.version = str(int(self.version) + 1)
        self.status = merged


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the API server applies a merge patch (None removes, at any depth)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@pytest.fixture(autouse=True)
def no_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kopf, "event", lambda *a, **k: None)
    reconcile._locks.clear()


def body(kube: FakeKube, **spec: Any) -> kopf.Body:
    raw = {
        "apiVersion": "wattcast.dev/v1alpha1",
        "kind": "FleetTrainingJob",
        "metadata": {
            "name": "fleet",
            "namespace": "ns",
            "uid": UID,
            "generation": 1,
            "resourceVersion": kube.version,
        },
        "spec": {
            "meters": {"ids": ["m1", "m2", "m3"]},
            "meterType": "electricity",
            "start": "2023-01-01T00:00:00Z",
            "end": "2023-03-01T00:00:00Z",
            "metersPerPod": 2,
            **spec,
        },
        "status": dict(kube.status),
    }
    return kopf.Body(raw)  # type: ignore[arg-type]


def runtime(kube: FakeKube) -> Runtime:
    source = InfluxSource(url="http://influx:8086")
    return Runtime(settings=OperatorSettings(), sources={"default": source}, kube=kube)  # type: ignore[arg-type]


def run(kube: FakeKube, *, live: bool = False, **spec: Any) -> None:
    """One pass: an event's, or with `live` the timer's (which reads the progress Lease)."""
    fleet = body(kube, **spec)
    pass_ = reconcile.reconcile(runtime(kube), fleet, logging.getLogger("t"), live_progress=live)
    asyncio.run(pass_)


def test_one_job_and_its_configmap_then_adopted_on_every_later_pass() -> None:
    kube = FakeKube()
    run(kube)
    assert kube.created == ["fleet"]
    assert sorted(kube.objects) == [
        ("ConfigMap", "fleet-fleet"),
        ("Lease", "fleet-progress"),
        ("Role", "wattcast-shard-fleet"),
        ("RoleBinding", "wattcast-shard-fleet"),
        ("ServiceAccount", "wattcast-shard-fleet"),
    ]
    assert kube.jobs["fleet"]["spec"]["completions"] == 2
    assert kube.status["phase"] == "Running" and kube.status["jobName"] == "fleet"
    reconcile._locks.clear()  # as after an operator restart
    run(kube)
    # Killed after creating the Job, before writing its status: the next pass's create
    # answers 409, and the Job is adopted, not made twice.
    kube.status.clear()
    kube.race = True
    run(kube)
    assert kube.created == ["fleet"]
    assert kube.status["phase"] == "Running"


def test_someone_elses_job_fails_the_fleet() -> None:
    kube = FakeKube()
    kube.jobs["fleet"] = {"metadata": {"name": "fleet", "ownerReferences": []}, "spec": {}}
    run(kube)
    assert kube.status["phase"] == "Failed"
    assert kube.status["conditions"][-1]["reason"] == "JobNameConflict"


def test_a_vanished_job_is_lost_not_recreated() -> None:
    kube = FakeKube()
    run(kube)
    del kube.jobs["fleet"]
    run(kube)
    assert kube.created == ["fleet"]
    assert kube.status["phase"] == "Failed"
    assert kube.status["conditions"][-1]["reason"] == "JobLost"


def test_suspend_reaches_the_job() -> None:
    kube = FakeKube()
    run(kube)
    run(kube, suspend=True)
    assert kube.job_patches == [{"spec": {"suspend": True}}]
    assert kube.status["phase"] == "Suspended"
    run(kube, suspend=False)
    assert kube.status["phase"] == "Running"


def test_an_unknown_source_fails_before_any_job() -> None:
    kube = FakeKube()
    run(kube, source={"name": "nowhere"})
    assert kube.created == [] and kube.status["phase"] == "Failed"
    assert kube.status["conditions"][-1]["reason"] == "UnknownSource"


def test_someone_elses_role_fails_the_fleet_before_any_job() -> None:
    kube = FakeKube()
    kube.objects[("Role", "wattcast-shard-fleet")] = {
        "kind": "Role",
        "metadata": {"name": "wattcast-shard-fleet", "ownerReferences": []},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    }
    run(kube)
    assert kube.created == [] and kube.status["phase"] == "Failed"
    assert kube.status["conditions"][-1]["reason"] == "JobNameConflict"
    assert "Role named wattcast-shard-fleet" in kube.status["message"]


def test_live_progress_of_running_shards_and_the_lease_pruned() -> None:
    kube = FakeKube()
    run(kube)
    lease = kube.objects[("Lease", "fleet-progress")]["metadata"]
    lease["annotations"] = {"wattcast.dev/shard-0": "1", "wattcast.dev/shard-1": "1"}
    run(kube)  # an event's pass leaves the Lease to the timer
    assert kube.status["progress"]["finished"] == 0
    run(kube, live=True)
    assert kube.status["progress"] == {
        "finished": 2,
        "total": 3,
        "percent": 66,
        "inRunningShards": 2,
    }
    assert kube.status["counts"]["succeeded"] == 0  # counts wait for the shards' reports
    assert kube.object_patches == []
    # Shard 0 is done (its pod and report are gone here): its entry leaves the Lease, and
    # progress does not go back.
    kube.jobs["fleet"]["status"] = {"completedIndexes": "0"}
    run(kube, live=True)
    assert lease["annotations"] == {"wattcast.dev/shard-1": "1"}
    assert kube.status["progress"]["finished"] == 2


def test_a_pass_on_an_outdated_copy_writes_nothing() -> None:
    kube = FakeKube()
    run(kube)
    outdated = body(kube)
    run(kube, suspend=True)  # the fleet moved on (a new version)
    before = dict(kube.status)
    asyncio.run(reconcile.reconcile(runtime(kube), outdated, logging.getLogger("t")))
    assert kube.status == before


def test_a_pass_that_changes_nothing_writes_nothing() -> None:
    """What the API server stores (None dropped at every depth) is what the next pass reads:
    a pass whose status is the stored one must not write it again (each write is an event,
    whose pass would write again)."""
    kube = FakeKube()
    run(kube)
    kube.jobs["fleet"]["status"] = {"active": 2, "startTime": "2026-01-01T00:00:00Z"}
    run(kube, live=True)
    version = kube.version
    for live in (False, True, False):
        run(kube, live=live)
    assert kube.version == version
