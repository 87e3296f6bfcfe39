"""The /v1 resource API against the real API server: create, list with server-side
filters and pages, get, suspend, resume, cancel, delete."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from api_support import TOKEN, ServedApp
from testkit import TrainingJobs

from wattcast.api.core.config import Settings
from wattcast.crd import constants


def _spec(meter: str = "meter1", meter_type: str = "electricity", **extra: Any) -> dict[str, Any]:
    return {
        "meterId": meter,
        "meterType": meter_type,
        "start": "2023-01-01T00:00:00Z",
        "end": "2024-01-01T00:00:00Z",
        **extra,
    }


def test_create_answers_201_with_location_and_the_job(
    api: httpx.Client, cluster: TrainingJobs
) -> None:
    response = api.post("/v1/trainingjobs", json=_spec(model={"epochs": 3}, name="tj-create"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "tj-create"
    assert body["namespace"] == cluster.namespace
    assert body["taskStatus"] == "PENDING"
    assert body["spec"]["model"]["epochs"] == 3
    assert body["uid"]
    assert response.headers["Location"].startswith("/v1/trainingjobs/tj-create")
    assert cluster.names() == ["tj-create"]
    assert api.get("/v1/trainingjobs/tj-create").json()["uid"] == body["uid"]


def test_create_with_a_configured_source(api: httpx.Client, cluster: TrainingJobs) -> None:
    response = api.post("/v1/trainingjobs", json=_spec(source={"name": "archive"}))
    assert response.status_code == 201, response.text
    assert cluster.get(response.json()["name"])["spec"]["source"] == {"name": "archive"}


def test_list_filters_on_the_server_by_meter_type_and_phase(
    api: httpx.Client, cluster: TrainingJobs
) -> None:
    names = {}
    for meter, kind in [("m-a", "electricity"), ("m-b", "electricity"), ("m-a", "water")]:
        created = api.post("/v1/trainingjobs", json=_spec(meter, kind)).json()
        names[(meter, kind)] = created["name"]
    cluster.patch_status(names[("m-b", "electricity")], {"phase": "Training", "progress": 50})

    def listed(query: str) -> set[str]:
        response = api.get(f"/v1/trainingjobs?{query}")
        assert response.status_code == 200, response.text
        return {item["name"] for item in response.json()["items"]}

    assert listed("meterId=m-a") == {names[("m-a", "electricity")], names[("m-a", "water")]}
    assert listed("meterType=water") == {names[("m-a", "water")]}
    assert listed("meterId=m-a&meterType=electricity") == {names[("m-a", "electricity")]}
    assert listed("phase=Training") == {names[("m-b", "electricity")]}
    assert listed("meterId=nobody") == set()
    assert len(listed("")) == 3


def test_list_pages_with_limit_and_continue(api: httpx.Client) -> None:
    created = {api.post("/v1/trainingjobs", json=_spec()).json()["name"] for _ in range(5)}
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = {"limit": 2, **({"continue": token} if token else {})}
        page = api.get("/v1/trainingjobs", params=query).json()
        pages += 1
        assert page["count"] == len(page["items"]) <= 2
        seen += [item["name"] for item in page["items"]]
        token = page.get("continue")
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(created)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("phase=Running", "phase"),
        ("meterType=gas", "meterType"),
        ("limit=0", "limit"),
        ("meterId=a,b", "meterId"),
        ("meterId=x%3Dy", "meterId"),
    ],
    ids=["unknown-phase", "unknown-type", "zero-limit", "selector-comma", "selector-equals"],
)
def test_list_refuses_bad_filters(api: httpx.Client, query: str, field: str) -> None:
    response = api.get(f"/v1/trainingjobs?{query}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_suspend_resume_cancel(api: httpx.Client, cluster: TrainingJobs) -> None:
    name = api.post("/v1/trainingjobs", json=_spec(name="tj-actions")).json()["name"]
    cluster.patch_status(name, {"phase": "Training", "progress": 20})

    suspended = api.post(f"/v1/trainingjobs/{name}/suspend")
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["spec"]["suspend"] is True
    assert cluster.get(name)["spec"]["suspend"] is True
    assert api.post(f"/v1/trainingjobs/{name}/suspend").status_code == 200  # harmless again

    resumed = api.post(f"/v1/trainingjobs/{name}/resume")
    assert resumed.status_code == 200
    assert cluster.get(name)["spec"]["suspend"] is False

    cancelled = api.post(f"/v1/trainingjobs/{name}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["taskStatus"] == "REVOKED"
    assert cancelled.json()["cancelled"] is True
    stored = cluster.get(name)
    assert stored["spec"]["suspend"] is True
    assert stored["metadata"]["annotations"][constants.ANNOTATION_CANCELLED] == "true"
    assert api.post(f"/v1/trainingjobs/{name}/cancel").status_code == 200

    refused = api.post(f"/v1/trainingjobs/{name}/resume")
    assert refused.status_code == 409
    assert "cannot be resumed" in refused.json()["detail"]
    assert cluster.get(name)["spec"]["suspend"] is True


def test_finished_jobs_cannot_be_cancelled(api: httpx.Client, cluster: TrainingJobs) -> None:
    name = api.post("/v1/trainingjobs", json=_spec()).json()["name"]
    cluster.patch_status(name, {"phase": "Failed", "message": "no data"})
    response = api.post(f"/v1/trainingjobs/{name}/cancel")
    assert response.status_code == 409
    assert "already finished (Failed)" in response.json()["detail"]


def test_delete(api: httpx.Client, cluster: TrainingJobs) -> None:
    name = api.post("/v1/trainingjobs", json=_spec()).json()["name"]
    assert api.delete(f"/v1/trainingjobs/{name}").status_code == 204
    assert cluster.items() == []
    assert api.get(f"/v1/trainingjobs/{name}").status_code == 404
    again = api.delete(f"/v1/trainingjobs/{name}")
    assert again.status_code == 404
    assert again.json()["code"] == "not_found"


@pytest.mark.parametrize("action", ["suspend", "resume", "cancel"])
def test_actions_on_a_missing_job_are_404(api: httpx.Client, action: str) -> None:
    assert api.post(f"/v1/trainingjobs/no-such-job/{action}").status_code == 404


def test_creating_in_an_allowed_namespace_without_the_charts_role_is_403_and_names_the_fix(
    api_settings: Settings, cluster: TrainingJobs
) -> None:
    # A real API server authorizes before it looks: with no Role in the namespace (the chart
    # makes one per api.namespaces entry), whether it exists is not the API's to know.
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    served = ServedApp(api_settings.model_copy(update={"api_namespaces": [ghost]})).start()
    try:
        response = httpx.post(
            f"{served.url}/v1/trainingjobs?namespace={ghost}",
            json=_spec(),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    finally:
        served.stop()
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert ghost in detail
    assert "grant it in the chart's RBAC" in detail
    assert cluster.items() == []


def test_a_forged_continue_token_is_refused_with_a_message(api: httpx.Client) -> None:
    response = api.get("/v1/trainingjobs", params={"continue": "not-a-token", "limit": 1})
    assert response.status_code in {400, 410}, response.text
    assert response.json()["detail"]
