"""The end-to-end scenarios against a real cluster (kind, k3d, or any), when one is configured.

Skipped with the reason otherwise (see cluster_support.py and docs/local-stack.md). The same
claims as the local end-to-end tests: a training through kubectl and through REST ends in
Succeeded with metrics; no data fails at once; an unreachable InfluxDB is retried then fails;
a deadline stops the run; suspend and resume; deleting removes the Job and its pods; an
operator restart mid-training still ends in one Job and Succeeded; 20 at once all succeed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from cluster_support import (
    START,
    Cluster,
    failed_reason,
    skip_reason,
    stamp,
    unique,
)
from testkit import wait_for

pytestmark = pytest.mark.cluster


def live_pods(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    return [p for p in cluster.pods_of(name) if p["status"].get("phase") in ("Pending", "Running")]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    yield Cluster()


@pytest.fixture
def cleanup(cluster: Cluster) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        cluster.kubectl("delete", "tj", name, "--ignore-not-found", "--wait=false", check=False)


def test_kubectl_apply_succeeds_with_metrics(cluster: Cluster, cleanup: list[str]) -> None:
    meter, name = unique("cl-meter"), unique("cl-apply")
    cleanup.append(name)
    cluster.load_meter(meter)
    cluster.apply_tj(name, meter)
    status = cluster.wait_phase(name, {"Succeeded", "Failed"})
    assert status["phase"] == "Succeeded", status
    metrics = status["result"]["metrics"]
    assert {"naiveDaily", "naiveWeekly"} <= set(metrics["baselines"])
    assert len(cluster.jobs_of(name)) == 1


def test_seed_endpoint_succeeds(cluster: Cluster) -> None:
    meter = unique("cl-seed")
    cluster.load_meter(meter, days=45)
    with cluster.api() as api:
        answer = api.post(
            "/trainmodel/v2/",
            params={"namespace": cluster.namespace},
            json={
                "meter_id": meter,
                "meter_type": "electricity",
                "start_date": stamp(START),
                "end_date": stamp(START + timedelta(days=45)),
            },
        )
        assert answer.status_code == 200, answer.text
        task = answer.json()["task_id"]
        try:
            status = cluster.wait_phase(task, {"Succeeded", "Failed"})
            assert status["phase"] == "Succeeded", status
            seed = api.get(f"/trainmodel/status/{task}", params={"namespace": cluster.namespace})
            assert seed.json()["status"] == "SUCCESS"
            assert seed.json()["result"]["details"]["model_path"].startswith("models/electricity/")
        finally:
            cluster.kubectl("delete", "tj", task, "--ignore-not-found", check=False)


def test_meter_without_data_fails_at_once(cluster: Cluster, cleanup: list[str]) -> None:
    name = unique("cl-nodata")
    cleanup.append(name)
    cluster.apply_tj(name, unique("cl-none"), backoffLimit=3)
    status = cluster.wait_phase(name, {"Succeeded", "Failed"})
    assert status["phase"] == "Failed"
    assert failed_reason(status) == "PodFailurePolicy"
    assert status["message"].startswith("NoData:")
    assert status.get("attempts") == 1


def test_unreachable_influxdb_is_retried_then_fails(cluster: Cluster, cleanup: list[str]) -> None:
    if not cluster.offline_source:
        pytest.skip("WATTCAST_TEST_OFFLINE_SOURCE is not set (a configured source that is down)")
    meter, name = unique("cl-down"), unique("cl-down")
    cleanup.append(name)
    cluster.apply_tj(name, meter, backoffLimit=1, source={"name": cluster.offline_source})
    status = cluster.wait_phase(name, {"Succeeded", "Failed"})
    assert status["phase"] == "Failed"
    assert failed_reason(status) == "BackoffLimitExceeded"
    assert "InfluxUnavailable" in status["message"]
    assert status.get("attempts") == 2


def test_deadline_exceeded(cluster: Cluster, cleanup: list[str]) -> None:
    meter, name = unique("cl-late"), unique("cl-late")
    cleanup.append(name)
    cluster.load_meter(meter)
    cluster.apply_tj(name, meter, activeDeadlineSeconds=3)
    status = cluster.wait_phase(name, {"Succeeded", "Failed"})
    assert status["phase"] == "Failed"
    assert failed_reason(status) == "DeadlineExceeded"


def test_suspend_and_resume(cluster: Cluster, cleanup: list[str]) -> None:
    meter, name = unique("cl-susp"), unique("cl-susp")
    cleanup.append(name)
    cluster.load_meter(meter)
    cluster.apply_tj(name, meter)
    cluster.wait_phase(name, {"ProcessingData", "Training", "Saving", "Succeeded"})
    cluster.kubectl("patch", "tj", name, "--type=merge", "-p", '{"spec":{"suspend":true}}')
    status = cluster.wait_phase(name, {"Suspended", "Succeeded"})
    if status["phase"] == "Suspended":
        wait_for(
            "no pod of it pending or running",
            lambda: not live_pods(cluster, name),
            120,
            interval=2,
        )
        cluster.kubectl("patch", "tj", name, "--type=merge", "-p", '{"spec":{"suspend":false}}')
    status = cluster.wait_phase(name, {"Succeeded", "Failed"})
    assert status["phase"] == "Succeeded", status


def test_delete_removes_job_and_pods(cluster: Cluster) -> None:
    meter, name = unique("cl-del"), unique("cl-del")
    cluster.load_meter(meter)
    cluster.apply_tj(name, meter)
    cluster.wait_phase(name, {"ProcessingData", "Training", "Saving", "Succeeded"})
    cluster.kubectl("delete", "tj", name, "--wait=true")
    wait_for(
        "its Job and pods to go",
        lambda: not cluster.jobs_of(name) and not cluster.pods_of(name),
        120,
        interval=2,
    )


def test_operator_restart_mid_training(cluster: Cluster, cleanup: list[str]) -> None:
    meter, name = unique("cl-restart"), unique("cl-restart")
    cleanup.append(name)
    cluster.load_meter(meter)
    cluster.apply_tj(name, meter)
    cluster.wait_phase(name, {"ProcessingData", "Training", "Saving"})
    cluster.kubectl(
        "delete", "pod", "-l", "app.kubernetes.io/component=operator", "--grace-period=0", "--force"
    )
    status = cluster.wait_phase(name, {"Succeeded", "Failed"})
    assert status["phase"] == "Succeeded", status
    assert len(cluster.jobs_of(name)) == 1


def test_twenty_concurrent_trainingjobs_succeed(cluster: Cluster, cleanup: list[str]) -> None:
    meter = unique("cl-burst")
    cluster.load_meter(meter)
    names = [unique(f"cl-burst{i:02d}") for i in range(20)]
    cleanup.extend(names)
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda n: cluster.apply_tj(n, meter), names))
    for name in names:
        assert cluster.wait_phase(name, {"Succeeded", "Failed"}, timeout=1800)["phase"] == (
            "Succeeded"
        )
