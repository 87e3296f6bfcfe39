"""/v1/fleettrainingjobs against the real API server, as the chart's API identity: create (and
idempotent replays), list with server-side filters and pages, get, suspend, resume, cancel,
delete, the event stream of one fleet, and every bad fleet spec refused with a 422 before
anything is created."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from api_support import events
from refused_fleet_specs import REFUSED_FLEET_SPECS, VALID_FLEET_SPEC, RefusedFleetSpec
from testkit import TrainingJobs

FLEETS = "/v1/fleettrainingjobs"


def _spec(**changes: Any) -> dict[str, Any]:
    return {**VALID_FLEET_SPEC, **changes}


def _running(finished: int, total: int = 2) -> dict[str, Any]:
    return {
        "phase": "Running",
        "progress": {"finished": finished, "total": total, "percent": finished * 100 // total},
        "counts": {"total": total, "succeeded": finished, "failed": 0},
    }


SUCCEEDED: dict[str, Any] = {
    "phase": "Succeeded",
    "progress": {"finished": 2, "total": 2, "percent": 100},
    "counts": {"total": 2, "succeeded": 1, "failed": 1, "promoted": 1, "beatBaseline": 1},
    "failures": [{"meter": "meter2", "reason": "NoData", "message": "no points in the range"}],
    "metrics": {
        "maeOverBestBaseline": {"median": 0.8, "p90": 0.8, "meters": 1},
        "histogram": [{"le": 0.8, "count": 1}, {"count": 0}],
    },
}


def test_create_answers_201_with_location_and_the_fleet(
    api: httpx.Client, fleets: TrainingJobs
) -> None:
    response = api.post(FLEETS, json=_spec(name="fleet-create", parallelism=2))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["namespace"]) == ("fleet-create", fleets.namespace)
    assert (body["stage"], body["finished"], body["progress"]) == ("Pending", False, 0)
    assert body["spec"]["meters"] == {"ids": ["meter1", "meter2"]}
    assert response.headers["Location"].startswith(f"{FLEETS}/fleet-create")
    stored = fleets.get("fleet-create")
    assert stored["kind"] == "FleetTrainingJob"
    assert stored["metadata"]["labels"]["wattcast.dev/meter-type"] == "electricity"
    assert api.get(f"{FLEETS}/fleet-create").json()["uid"] == body["uid"]


def test_a_repeated_submission_is_the_same_fleet_and_a_different_one_a_409(
    api: httpx.Client, fleets: TrainingJobs
) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = api.post(FLEETS, json=_spec(), headers=key)
    again = api.post(FLEETS, json=_spec(), headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["name"] == again.json()["name"]
    assert again.json()["idempotencyKey"] == key["Idempotency-Key"]
    other = api.post(FLEETS, json=_spec(meters={"discover": {}}), headers=key)
    assert other.status_code == 409
    assert "different FleetTrainingJob" in other.json()["detail"]
    assert fleets.names() == [first.json()["name"]]


@pytest.mark.parametrize("case", REFUSED_FLEET_SPECS, ids=lambda c: c.id)
def test_a_bad_fleet_spec_is_a_422_and_creates_nothing(
    api: httpx.Client, fleets: TrainingJobs, case: RefusedFleetSpec
) -> None:
    response = api.post(FLEETS, json=case.spec())
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid"
    assert case.field in [e["field"] for e in body["errors"]]
    assert fleets.names() == []


def test_an_unknown_source_is_a_422(api: httpx.Client, fleets: TrainingJobs) -> None:
    response = api.post(FLEETS, json=_spec(source={"name": "nowhere"}))
    assert response.status_code == 422
    assert "archive" in response.json()["detail"]
    assert api.post(FLEETS, json=_spec(source={"name": "archive"})).status_code == 201


def test_list_filters_on_the_server_and_pages(api: httpx.Client, fleets: TrainingJobs) -> None:
    names = [api.post(FLEETS, json=_spec()).json()["name"] for _ in range(3)]
    water = api.post(FLEETS, json=_spec(meterType="water")).json()["name"]
    fleets.patch_status(names[0], _running(1))

    def listed(query: str) -> set[str]:
        response = api.get(f"{FLEETS}?{query}")
        assert response.status_code == 200, response.text
        return {item["name"] for item in response.json()["items"]}

    assert listed("meterType=water") == {water}
    assert listed("phase=Running") == {names[0]}
    assert len(listed("")) == 4
    seen: list[str] = []
    token = None
    while True:
        page = api.get(FLEETS, params={"limit": 3, **({"continue": token} if token else {})})
        body = page.json()
        seen += [item["name"] for item in body["items"]]
        token = body.get("continue")
        if not token:
            break
    assert sorted(seen) == sorted([*names, water])
    assert api.get(FLEETS, params={"continue": "not-a-token"}).status_code == 400


def test_get_shows_progress_counts_failures_and_the_histogram(
    api: httpx.Client, fleets: TrainingJobs
) -> None:
    name = api.post(FLEETS, json=_spec()).json()["name"]
    fleets.patch_status(name, SUCCEEDED)
    body = api.get(f"{FLEETS}/{name}").json()
    assert (body["stage"], body["finished"], body["progress"]) == ("Succeeded", True, 100)
    assert (body["metersFinished"], body["metersTotal"]) == (2, 2)
    status = body["status"]
    assert status["counts"]["beatBaseline"] == 1
    assert status["failures"][0]["meter"] == "meter2"
    assert status["metrics"]["histogram"][0] == {"le": 0.8, "count": 1}
    assert api.get(f"{FLEETS}/nobody").status_code == 404


def test_suspend_resume_cancel_and_delete(api: httpx.Client, fleets: TrainingJobs) -> None:
    name = api.post(FLEETS, json=_spec()).json()["name"]
    suspended = api.post(f"{FLEETS}/{name}/suspend")
    assert suspended.status_code == 200, suspended.text
    assert fleets.get(name)["spec"]["suspend"] is True
    assert api.post(f"{FLEETS}/{name}/resume").json()["spec"]["suspend"] is False
    cancelled = api.post(f"{FLEETS}/{name}/cancel").json()
    assert (cancelled["stage"], cancelled["cancelled"], cancelled["finished"]) == (
        "Cancelled",
        True,
        True,
    )
    refused = api.post(f"{FLEETS}/{name}/resume")
    assert refused.status_code == 409
    assert "cancelled and cannot be resumed" in refused.json()["detail"]
    assert api.delete(f"{FLEETS}/{name}").status_code == 204
    assert api.get(f"{FLEETS}/{name}").status_code == 404


def test_a_finished_fleet_refuses_actions_with_409(api: httpx.Client, fleets: TrainingJobs) -> None:
    name = api.post(FLEETS, json=_spec()).json()["name"]
    fleets.patch_status(name, SUCCEEDED)
    response = api.post(f"{FLEETS}/{name}/suspend")
    assert response.status_code == 409
    assert "has already finished (Succeeded)" in response.json()["detail"]


def test_the_stream_of_one_fleet_follows_it_until_it_finishes(
    api: httpx.Client, fleets: TrainingJobs
) -> None:
    name = api.post(FLEETS, json=_spec()).json()["name"]
    with api.stream("GET", f"{FLEETS}/{name}/events", timeout=20) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response)
        first = next(stream)
        assert (first.event, first.data["name"], first.data["stage"]) == ("ADDED", name, "Pending")
        assert next(stream).event == "SYNCED"
        fleets.patch_status(name, _running(1))
        running = next(stream)
        assert (running.event, running.data["metersFinished"]) == ("MODIFIED", 1)
        assert running.id == running.data["resourceVersion"]
        fleets.patch_status(name, SUCCEEDED)
        done = next(stream)
        assert (done.data["stage"], done.data["finished"]) == ("Succeeded", True)
        assert list(stream) == [], "the stream ends once the fleet finished"


def test_the_stream_of_a_missing_fleet_is_a_404(api: httpx.Client) -> None:
    response = api.get(f"{FLEETS}/nobody/events")
    assert response.status_code == 404
    assert "FleetTrainingJob 'nobody' not found" in response.json()["detail"]
