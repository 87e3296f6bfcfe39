"""The seed's endpoints, same shapes (docs/seed.md), against the real API server."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from testkit import TrainingJobs

RESULT = {
    "modelPath": "electricity/meter1/versions/20230601T123456Z/model.keras",
    "dataPoints": 8760,
    "trainingCompleted": "2023-06-01T12:34:56.789012Z",
}


def test_the_seeds_curl_example_creates_one_trainingjob(
    api: httpx.Client, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    response = api.post("/trainmodel/v2/", json=seed_body)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"task_id", "status", "progress"}
    assert body["status"] == "PENDING" and body["progress"] == 0
    assert uuid.UUID(body["task_id"]).version == 4
    (job,) = cluster.items()
    assert job["metadata"]["name"] == body["task_id"]
    assert job["spec"]["meterId"] == "meter1"
    assert job["spec"]["meterType"] == "electricity"
    assert job["spec"]["start"] == "2023-01-01T00:00:00Z"
    assert job["spec"]["end"] == "2023-12-31T23:59:59Z"
    assert job["metadata"]["labels"]["wattcast.dev/meter-id"] == "meter1"


def test_status_follows_the_trainingjob_through_its_phases(
    api: httpx.Client, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    task_id = api.post("/trainmodel/v2/", json=seed_body).json()["task_id"]
    assert api.get(f"/trainmodel/status/{task_id}").json() == {
        "task_id": task_id,
        "status": "PENDING",
        "progress": 0,
    }
    for phase, progress, word in [
        ("Pending", 0, "PENDING"),
        ("ProcessingData", 30, "PROCESSING_DATA"),
        ("Training", 55, "TRAINING"),
        ("Saving", 95, "SAVING_MODEL"),
    ]:
        cluster.patch_status(task_id, {"phase": phase, "progress": progress})
        assert api.get(f"/trainmodel/status/{task_id}").json() == {
            "task_id": task_id,
            "status": word,
            "progress": progress,
        }
    cluster.patch_status(task_id, {"phase": "Succeeded", "progress": 100, "result": RESULT})
    path = "models/" + RESULT["modelPath"]
    assert api.get(f"/trainmodel/status/{task_id}").json() == {
        "task_id": task_id,
        "status": "SUCCESS",
        "progress": 100,
        "result": {
            "status": "success",
            "message": f"Model trained and saved at {path}",
            "details": {
                "meter_id": "meter1",
                "meter_type": "electricity",
                "data_points": 8760,
                "model_path": path,
                "training_completed": RESULT["trainingCompleted"],
            },
        },
    }


def test_a_failed_task_reports_reason_and_message(
    api: httpx.Client, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    task_id = api.post("/trainmodel/v2/", json=seed_body).json()["task_id"]
    cluster.patch_status(
        task_id,
        {
            "phase": "Failed",
            "progress": 10,
            "attempts": 1,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "DataInsufficient",
                    "message": "Only 3 days of data after cleaning; at least 14 are needed.",
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ],
        },
    )
    body = api.get(f"/trainmodel/status/{task_id}").json()
    assert body["status"] == "FAILURE"
    assert body["result"]["status"] == "failure"
    assert body["result"]["message"].startswith("Only 3 days")
    assert body["result"]["details"]["reason"] == "DataInsufficient"
    assert body["result"]["details"]["meter_id"] == "meter1"


def test_a_cancelled_task_is_revoked(
    api: httpx.Client, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    task_id = api.post("/trainmodel/v2/", json=seed_body).json()["task_id"]
    cluster.patch_status(task_id, {"phase": "Training", "progress": 40})
    assert api.post(f"/v1/trainingjobs/{task_id}/cancel").status_code == 200
    body = api.get(f"/trainmodel/status/{task_id}").json()
    assert body == {"task_id": task_id, "status": "REVOKED", "progress": 40}


def test_an_unknown_task_is_404(api: httpx.Client) -> None:
    response = api.get(f"/trainmodel/status/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


def test_the_seeds_requests_are_refused_without_a_token_and_create_nothing(
    anon: httpx.Client, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    assert anon.post("/trainmodel/v2/", json=seed_body).status_code == 401
    assert anon.get(f"/trainmodel/status/{uuid.uuid4()}").status_code == 401
    assert cluster.items() == []


def test_readyz_checks_the_kubernetes_api(anon: httpx.Client) -> None:
    response = anon.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}
