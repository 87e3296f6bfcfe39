"""Never lose or duplicate a submission: Idempotency-Key and client names return the
existing TrainingJob; concurrent submissions create exactly one TrainingJob each."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from api_support import TOKEN
from testkit import TrainingJobs


def test_a_retried_seed_submission_returns_the_same_task(
    api: httpx.Client, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = api.post("/trainmodel/v2/", json=seed_body, headers=key)
    second = api.post("/trainmodel/v2/", json=seed_body, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.json()["task_id"] == second.json()["task_id"]
    assert cluster.names() == [first.json()["task_id"]]


def test_a_replay_with_another_time_zone_spelling_is_the_same_submission(
    api: httpx.Client, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "tz-spelling"}
    first = api.post("/trainmodel/v2/", json=seed_body, headers=key).json()
    respelled = {**seed_body, "start_date": "2023-01-01T01:00:00+01:00"}
    second = api.post("/trainmodel/v2/", json=respelled, headers=key)
    assert second.status_code == 200
    assert second.json()["task_id"] == first["task_id"]
    assert len(cluster.items()) == 1


def test_the_same_key_with_another_body_is_a_conflict(
    api: httpx.Client, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "reused-key"}
    first = api.post("/trainmodel/v2/", json=seed_body, headers=key)
    other = api.post("/trainmodel/v2/", json={**seed_body, "meter_id": "meter2"}, headers=key)
    assert other.status_code == 409
    assert "reused-key" in other.json()["detail"]
    assert "new key" in other.json()["detail"]
    assert cluster.names() == [first.json()["task_id"]]


def test_v1_replay_answers_200_and_the_same_job(api: httpx.Client, cluster: TrainingJobs) -> None:
    spec = {
        "meterId": "meter1",
        "meterType": "water",
        "start": "2023-01-01T00:00:00Z",
        "end": "2023-06-01T00:00:00Z",
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/v1/trainingjobs", json=spec, headers=key)
    second = api.post("/v1/trainingjobs", json=spec, headers=key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["uid"] == second.json()["uid"]
    assert second.json()["idempotencyKey"] == key["Idempotency-Key"]
    assert len(cluster.items()) == 1


def test_a_client_name_is_idempotent_too(api: httpx.Client, cluster: TrainingJobs) -> None:
    spec = {
        "name": "nightly-meter1",
        "meterId": "meter1",
        "meterType": "electricity",
        "start": "2023-01-01T00:00:00Z",
        "end": "2023-06-01T00:00:00Z",
    }
    assert api.post("/v1/trainingjobs", json=spec).status_code == 201
    assert api.post("/v1/trainingjobs", json=spec).status_code == 200
    clash = api.post("/v1/trainingjobs", json={**spec, "meterId": "meter9"})
    assert clash.status_code == 409
    assert "nightly-meter1" in clash.json()["detail"]
    assert cluster.names() == ["nightly-meter1"]
    assert cluster.get("nightly-meter1")["spec"]["meterId"] == "meter1"


def test_a_replay_still_matches_after_the_job_was_suspended(
    api: httpx.Client, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "then-suspended"}
    task_id = api.post("/trainmodel/v2/", json=seed_body, headers=key).json()["task_id"]
    api.post(f"/v1/trainingjobs/{task_id}/suspend")
    again = api.post("/trainmodel/v2/", json=seed_body, headers=key)
    assert again.status_code == 200
    assert again.json() == {"task_id": task_id, "status": "PENDING", "progress": 0}


async def _burst(
    url: str, bodies: list[dict[str, Any]], keys: list[str | None]
) -> tuple[list[int], list[str]]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60, limits=limits
    ) as client:

        async def one(body: dict[str, Any], key: str | None) -> httpx.Response:
            headers = {"Idempotency-Key": key} if key else {}
            return await client.post("/trainmodel/v2/", json=body, headers=headers)

        responses = await asyncio.gather(*(one(b, k) for b, k in zip(bodies, keys, strict=True)))
    return [r.status_code for r in responses], [str(r.json().get("task_id")) for r in responses]


def test_200_concurrent_submissions_create_exactly_200_trainingjobs(
    api_url: str, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    bodies = [{**seed_body, "meter_id": f"meter-{i}"} for i in range(200)]
    statuses, task_ids = asyncio.run(_burst(api_url, bodies, [None] * 200))
    assert statuses == [200] * 200
    assert len(set(task_ids)) == 200
    assert cluster.names() == sorted(task_ids)
    assert sorted(j["spec"]["meterId"] for j in cluster.items()) == sorted(
        b["meter_id"] for b in bodies
    )


def test_concurrent_retries_with_one_key_create_one_trainingjob(
    api_url: str, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    statuses, task_ids = asyncio.run(_burst(api_url, [seed_body] * 20, ["one-key"] * 20))
    assert statuses == [200] * 20
    assert len(set(task_ids)) == 1
    assert cluster.names() == [task_ids[0]]


def test_metrics_count_created_and_replayed_submissions(
    api: httpx.Client, anon: httpx.Client, seed_body: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "counted"}
    api.post("/trainmodel/v2/", json=seed_body, headers=key)
    api.post("/trainmodel/v2/", json=seed_body, headers=key)
    text = anon.get("/metrics").text
    assert 'wattcast_api_submissions_total{outcome="created"} 1.0' in text
    assert 'wattcast_api_submissions_total{outcome="replayed"} 1.0' in text
    assert 'route="/trainmodel/v2/",status="200"' in text
