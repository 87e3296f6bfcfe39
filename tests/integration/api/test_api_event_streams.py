"""Server-sent events of status changes, fed by a Kubernetes watch on the real API server."""

from __future__ import annotations

import httpx
from api_support import events
from testkit import TrainingJobs


def _create(api: httpx.Client, meter: str = "meter1") -> str:
    body = {
        "meterId": meter,
        "meterType": "electricity",
        "start": "2023-01-01T00:00:00Z",
        "end": "2024-01-01T00:00:00Z",
    }
    response = api.post("/v1/trainingjobs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["name"])


def test_one_jobs_stream_follows_it_until_it_finishes(
    api: httpx.Client, cluster: TrainingJobs
) -> None:
    name = _create(api)
    with api.stream("GET", f"/v1/trainingjobs/{name}/events", timeout=15) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response)
        first = next(stream)
        assert (first.event, first.data["name"], first.data["taskStatus"]) == (
            "ADDED",
            name,
            "PENDING",
        )
        assert first.id == first.data["resourceVersion"]
        synced = next(stream)
        assert synced.event == "SYNCED" and synced.data["count"] == 1

        cluster.patch_status(name, {"phase": "Training", "progress": 40})
        training = next(stream)
        assert training.event == "MODIFIED"
        assert (training.data["taskStatus"], training.data["progress"]) == ("TRAINING", 40)

        # A change nobody sees in the REST view (live figures) is not an event ...
        cluster.patch_status(name, {"training": {"epoch": 3, "epochs": 20}})
        # ... the next visible change is.
        cluster.patch_status(name, {"progress": 60})
        assert next(stream).data["progress"] == 60

        cluster.patch_status(name, {"phase": "Succeeded", "progress": 100})
        done = next(stream)
        assert done.data["taskStatus"] == "SUCCESS"
        assert list(stream) == []  # the stream ended by itself


def test_a_cancel_ends_the_jobs_stream_with_revoked(api: httpx.Client) -> None:
    name = _create(api)
    with api.stream("GET", f"/v1/trainingjobs/{name}/events", timeout=15) as response:
        stream = events(response)
        assert [next(stream).event, next(stream).event] == ["ADDED", "SYNCED"]
        assert api.post(f"/v1/trainingjobs/{name}/cancel").status_code == 200
        revoked = next(stream)
        assert (revoked.event, revoked.data["taskStatus"]) == ("MODIFIED", "REVOKED")
        assert list(stream) == []


def test_the_namespace_stream_sees_new_changed_and_deleted_jobs(
    api: httpx.Client, cluster: TrainingJobs
) -> None:
    existing = _create(api, "meter-a")
    with api.stream("GET", "/v1/events", timeout=15) as response:
        assert response.status_code == 200
        stream = events(response)
        added = next(stream)
        assert (added.event, added.data["name"]) == ("ADDED", existing)
        assert next(stream).event == "SYNCED"

        newer = _create(api, "meter-b")
        event = next(stream)
        assert (event.event, event.data["name"], event.data["spec"]["meterId"]) == (
            "ADDED",
            newer,
            "meter-b",
        )
        cluster.patch_status(existing, {"phase": "ProcessingData", "progress": 5})
        event = next(stream)
        assert (event.event, event.data["name"], event.data["taskStatus"]) == (
            "MODIFIED",
            existing,
            "PROCESSING_DATA",
        )
        assert api.delete(f"/v1/trainingjobs/{newer}").status_code == 204
        event = next(stream)
        assert (event.event, event.data["name"]) == ("DELETED", newer)


def test_a_stream_of_an_unknown_job_is_a_plain_404(api: httpx.Client) -> None:
    response = api.get("/v1/trainingjobs/nobody-here/events")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_streams_need_a_token(anon: httpx.Client) -> None:
    assert anon.get("/v1/events").status_code == 401
