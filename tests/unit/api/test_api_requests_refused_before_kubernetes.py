"""Requests the API refuses on its own: no token, bad input, huge bodies, foreign namespaces.

The app runs with its real Kubernetes client pointed at a closed loopback port, so anything
that reached Kubernetes would come back 503: a 401/403/413/422 here proves the request was
refused before any Kubernetes call. (That nothing was created is shown against the real API
server in tests/integration/api.)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from refused_fleet_specs import (
    ACCEPTED_FLEET_SPECS,
    REFUSED_FLEET_SPECS,
    VALID_FLEET_SPEC,
    RefusedFleetSpec,
)
from testkit import free_port

from wattcast.api.auth import Authenticator, NoTokensConfiguredError
from wattcast.api.core.config import Settings, get_settings
from wattcast.api.main import create_app
from wattcast.api.resources import FLEET_MAX_BODY_BYTES
from wattcast.crd.fleettrainingjob import MAX_METER_IDS

TOKEN = "unit-token-0123456789"
SEED_BODY = {
    "meter_id": "meter1",
    "meter_type": "electricity",
    "start_date": "2023-01-01T00:00:00Z",
    "end_date": "2023-12-31T23:59:59Z",
}


@pytest.fixture
def offline_kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: offline\n"
        f"clusters: [{{name: offline, cluster: {{server: 'http://127.0.0.1:{free_port()}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: offline, context: {cluster: offline, user: u}}]\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def offline_settings(offline_kubeconfig: Path) -> Settings:
    return Settings(
        api_tokens=f"{TOKEN},second-token",
        api_kubeconfig=offline_kubeconfig,
        api_namespace="team-a",
        api_namespaces="team-b",
        api_max_body_bytes=4096,
        api_kube_timeout_seconds=2,
        api_retry_after_seconds=7,
    )


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c,
    ):
        yield c


@pytest.fixture
async def offline_api(offline_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(offline_settings):
        yield client


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/trainmodel/v2/"),
        ("GET", "/trainmodel/status/a1b2c3d4-e5f6-7890-abcd-1234567890ab"),
        ("POST", "/v1/trainingjobs"),
        ("GET", "/v1/trainingjobs"),
        ("GET", "/v1/trainingjobs/job-1"),
        ("POST", "/v1/trainingjobs/job-1/cancel"),
        ("DELETE", "/v1/trainingjobs/job-1"),
        ("GET", "/v1/events"),
        ("GET", "/v1/trainingjobs/job-1/events"),
        ("POST", "/v1/fleettrainingjobs"),
        ("GET", "/v1/fleettrainingjobs"),
        ("GET", "/v1/fleettrainingjobs/fleet-1"),
        ("POST", "/v1/fleettrainingjobs/fleet-1/suspend"),
        ("POST", "/v1/fleettrainingjobs/fleet-1/resume"),
        ("POST", "/v1/fleettrainingjobs/fleet-1/cancel"),
        ("DELETE", "/v1/fleettrainingjobs/fleet-1"),
        ("GET", "/v1/fleettrainingjobs/fleet-1/events"),
    ],
    ids=lambda v: str(v),
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
    ],
    ids=["none", "wrong", "basic-scheme", "longer", "prefix"],
)
async def test_protected_endpoints_need_a_configured_token(
    offline_api: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> None:
    response = await offline_api.request(method, path, headers=headers, json=SEED_BODY)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.json()
    assert body["code"] == "unauthorized"
    assert "token" in body["detail"]


async def test_every_configured_token_is_accepted(offline_api: httpx.AsyncClient) -> None:
    for token in (TOKEN, "second-token"):
        response = await offline_api.get(
            "/v1/trainingjobs", headers={"Authorization": f"Bearer {token}"}
        )
        # Accepted, then Kubernetes is unreachable: 503 with Retry-After, as JSON.
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "7"
        assert response.json()["code"] == "unavailable"


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/openapi.json", "/docs"])
async def test_probes_metrics_and_docs_are_open(offline_api: httpx.AsyncClient, path: str) -> None:
    assert (await offline_api.get(path)).status_code == 200


async def test_readyz_reports_an_unreachable_kubernetes_api(
    offline_api: httpx.AsyncClient,
) -> None:
    response = await offline_api.get("/readyz")
    assert response.status_code == 503
    # Unauthenticated: ready or not, nothing about where the Kubernetes API is or why.
    assert response.json() == {"status": "unavailable"}


async def test_a_namespace_outside_the_allow_list_is_forbidden(
    offline_api: httpx.AsyncClient,
) -> None:
    response = await offline_api.get("/v1/trainingjobs?namespace=kube-system", headers=AUTH)
    assert response.status_code == 403
    assert "team-a, team-b" in response.json()["detail"]


async def test_an_allowed_namespace_reaches_kubernetes(offline_api: httpx.AsyncClient) -> None:
    response = await offline_api.get("/v1/trainingjobs?namespace=team-b", headers=AUTH)
    assert response.status_code == 503


async def test_a_body_over_the_limit_is_413(offline_api: httpx.AsyncClient) -> None:
    body = {**SEED_BODY, "meter_id": "m" * 5000}
    response = await offline_api.post("/trainmodel/v2/", json=body, headers=AUTH)
    assert response.status_code == 413
    assert "4096 bytes" in response.json()["detail"]


async def test_a_chunked_body_over_the_limit_is_413(offline_api: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    response = await offline_api.post(
        "/trainmodel/v2/",
        content=chunks(),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


async def test_validation_errors_name_the_field_and_do_not_echo_input(
    offline_api: httpx.AsyncClient,
) -> None:
    hostile = 'meter1"); drop()'
    response = await offline_api.post(
        "/trainmodel/v2/", json={**SEED_BODY, "meter_id": hostile}, headers=AUTH
    )
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "meter_id"
    assert "letters, digits" in body["errors"][0]["message"]
    assert hostile not in response.text


async def test_seed_range_rules_use_the_seeds_field_names(offline_api: httpx.AsyncClient) -> None:
    response = await offline_api.post(
        "/trainmodel/v2/", json={**SEED_BODY, "end_date": SEED_BODY["start_date"]}, headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "end_date"
    assert "must be after start_date" in response.json()["detail"]


async def test_an_unknown_route_is_json(offline_api: httpx.AsyncClient) -> None:
    response = await offline_api.get("/nope", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_a_bad_idempotency_key_is_422(offline_api: httpx.AsyncClient) -> None:
    response = await offline_api.post(
        "/trainmodel/v2/", json=SEED_BODY, headers={**AUTH, "Idempotency-Key": "has space"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_metrics_count_requests_by_route_template(offline_api: httpx.AsyncClient) -> None:
    await offline_api.get("/trainmodel/status/some-task", headers=AUTH)
    text = (await offline_api.get("/metrics")).text
    assert 'route="/trainmodel/status/{task_id}"' in text
    assert "some-task" not in text


def test_authentication_is_required_unless_disabled_on_purpose() -> None:
    with pytest.raises(NoTokensConfiguredError, match="WATTCAST_API_TOKENS"):
        Authenticator([], disabled=False)


def test_disabling_authentication_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="wattcast.api.auth"):
        authenticator = Authenticator([], disabled=True)
    assert authenticator.accepts(None)
    assert any("DISABLED" in r.message for r in caplog.records)


def test_tokens_are_compared_exactly() -> None:
    authenticator = Authenticator([b"abc", b"xyz"], disabled=False)
    assert authenticator.accepts("abc") and authenticator.accepts("xyz")
    for wrong in ("", "ab", "abcd", "ABC", "abc ", "xyzabc"):
        assert not authenticator.accepts(wrong)


async def test_without_tokens_the_app_refuses_to_start(offline_kubeconfig: Path) -> None:
    settings = Settings(api_kubeconfig=offline_kubeconfig, api_tokens=[])
    with pytest.raises(NoTokensConfiguredError):
        async for _ in _client(settings):
            pass


async def test_with_auth_disabled_requests_pass_without_a_token(
    offline_kubeconfig: Path,
) -> None:
    settings = Settings(
        api_kubeconfig=offline_kubeconfig, api_auth_disabled=True, api_kube_timeout_seconds=2
    )
    async for client in _client(settings):
        assert (await client.get("/v1/trainingjobs")).status_code == 503


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/v1/trainingjobs/job-1", "DELETE, GET"),
        ("OPTIONS", "/v1/trainingjobs/job-1", "DELETE, GET"),
        ("DELETE", "/v1/trainingjobs", "GET, POST"),
        ("GET", "/trainmodel/v2/", "POST"),
        ("PATCH", "/v1/trainingjobs/job-1/model", "GET"),
    ],
)
async def test_405_allows_every_method_the_path_has(
    offline_api: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    answer = await offline_api.request(method, path, headers=AUTH)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == allow
    assert answer.json()["code"] == "method_not_allowed"


# --- FleetTrainingJobs: the same refusals, before Kubernetes -----------------------------


@pytest.mark.parametrize("case", REFUSED_FLEET_SPECS, ids=lambda c: c.id)
async def test_a_fleet_spec_the_crd_refuses_is_422_naming_the_field(
    offline_api: httpx.AsyncClient, case: RefusedFleetSpec
) -> None:
    """Both `ids` and `discover`, an empty list, a bad pattern, a list over the bound, ...:
    the contract's models refuse each with the error shape of every 422 (offline: a request
    that reached Kubernetes would be a 503)."""
    response = await offline_api.post("/v1/fleettrainingjobs", json=case.spec(), headers=AUTH)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"].startswith("Invalid request: ")
    fields = [e["field"] for e in body["errors"]]
    assert case.field in fields, fields
    error = body["errors"][fields.index(case.field)]
    assert error["location"][0] == "body"
    assert error["message"] and error["type"]


@pytest.mark.parametrize("spec", ACCEPTED_FLEET_SPECS.values(), ids=list(ACCEPTED_FLEET_SPECS))
async def test_a_fleet_spec_the_crd_accepts_reaches_kubernetes(
    offline_api: httpx.AsyncClient, spec: dict[str, object]
) -> None:
    response = await offline_api.post(
        "/v1/fleettrainingjobs", json={**VALID_FLEET_SPEC, **spec}, headers=AUTH
    )
    assert response.status_code == 503, response.text
    assert "FleetTrainingJob" in response.json()["detail"]


async def test_a_fleet_with_an_unknown_source_is_422(offline_api: httpx.AsyncClient) -> None:
    body = {**VALID_FLEET_SPEC, "source": {"name": "nowhere"}}
    response = await offline_api.post("/v1/fleettrainingjobs", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "unknown_source"


async def test_a_hostile_meter_pattern_is_not_echoed(offline_api: httpx.AsyncClient) -> None:
    hostile = "<script>(?=x)</script>"
    body = {**VALID_FLEET_SPEC, "meters": {"discover": {"pattern": hostile}}}
    response = await offline_api.post("/v1/fleettrainingjobs", json=body, headers=AUTH)
    assert response.status_code == 422
    assert hostile not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/fleettrainingjobs?phase=Training",
        "/v1/fleettrainingjobs?meterType=gas",
        "/v1/fleettrainingjobs?limit=501",
        "/v1/fleettrainingjobs/Not_A_Name",
        "/v1/fleettrainingjobs/Not_A_Name/events",
    ],
)
async def test_bad_fleet_queries_and_names_are_422(
    offline_api: httpx.AsyncClient, path: str
) -> None:
    response = await offline_api.get(path, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid"


async def test_a_fleet_in_a_foreign_namespace_is_forbidden(
    offline_api: httpx.AsyncClient,
) -> None:
    response = await offline_api.get("/v1/fleettrainingjobs?namespace=kube-system", headers=AUTH)
    assert response.status_code == 403


async def test_a_fleet_body_may_be_larger_than_a_trainingjobs_but_is_bounded(
    offline_api: httpx.AsyncClient,
) -> None:
    """A fleet of the most meter ids fits (offline: 503 = it reached Kubernetes); a
    TrainingJob body of that size does not, nor does a fleet body past FLEET_MAX_BODY_BYTES."""
    ids = [f"m{i:03d}" + "x" * 124 for i in range(MAX_METER_IDS)]
    fleet = {**VALID_FLEET_SPEC, "meters": {"ids": ids}}
    assert (
        await offline_api.post("/v1/fleettrainingjobs", json=fleet, headers=AUTH)
    ).status_code == 503
    padded = {**SEED_BODY, "meter_id": "m" * 200_000}
    assert (await offline_api.post("/trainmodel/v2/", json=padded, headers=AUTH)).status_code == 413
    huge = {**fleet, "name": "x" * FLEET_MAX_BODY_BYTES}
    response = await offline_api.post("/v1/fleettrainingjobs", json=huge, headers=AUTH)
    assert response.status_code == 413
    assert str(FLEET_MAX_BODY_BYTES) in response.json()["detail"]
