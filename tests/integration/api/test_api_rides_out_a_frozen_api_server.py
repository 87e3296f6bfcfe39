"""On the real control plane: while kube-apiserver is frozen (SIGSTOP: the kernel still accepts
connections, nothing answers), the REST API answers 503 with Retry-After within
WATTCAST_API_KUBE_TIMEOUT_SECONDS and a margin, /readyz says only "unavailable", /healthz stays
up; once the API server runs again (SIGCONT), the same app serves normally again."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from api_support import SEED_BODY, TOKEN, served_client
from testkit import control_plane_only

from wattcast.api.core.config import Settings
from wattcast.devtools.cluster.access import api_client, create_namespace
from wattcast.devtools.cluster.devcluster import DevCluster

TIMEOUT_S = 3.0
BOUND_S = 2 * TIMEOUT_S


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    with control_plane_only(tmp_path_factory.mktemp("frozen-cp")) as running:
        yield running


@pytest.fixture(scope="module")
def api(cluster: DevCluster) -> Iterator[httpx.Client]:
    namespace = f"frozen-{uuid.uuid4().hex[:8]}"
    admin = api_client(cluster.kubeconfig)
    create_namespace(admin, namespace)
    admin.close()  # type: ignore[no-untyped-call]
    settings = Settings(
        api_tokens=TOKEN,
        api_kubeconfig=cluster.kubeconfig,
        api_namespace=namespace,
        api_kube_timeout_seconds=TIMEOUT_S,
        api_retry_after_seconds=4,
    )
    with served_client(settings, timeout=60) as client:
        yield client


def _timed(
    client: httpx.Client, method: str, path: str, **kwargs: object
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


def test_a_frozen_api_server_gets_503s_in_time_and_then_recovers(
    cluster: DevCluster, api: httpx.Client
) -> None:
    created = api.post("/trainmodel/v2/", json=SEED_BODY)
    assert created.status_code == 200, created.text
    task = created.json()["task_id"]
    assert api.get(f"/trainmodel/status/{task}").status_code == 200

    apiserver = cluster.control_plane.apiserver
    assert apiserver is not None and apiserver.process is not None
    pid = apiserver.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        for method, path, body in [
            ("GET", f"/trainmodel/status/{task}", None),
            ("GET", "/v1/trainingjobs", None),
            ("POST", "/trainmodel/v2/", SEED_BODY),
            ("POST", f"/v1/trainingjobs/{task}/suspend", None),
        ]:
            response, elapsed = _timed(api, method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["Retry-After"] == "4"
            assert "no answer in time" in response.json()["detail"]
            assert "127.0.0.1" not in response.text
            assert elapsed < BOUND_S, f"{method} {path} took {elapsed:.1f} s"
        ready, elapsed = _timed(api, "GET", "/readyz")
        assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})
        assert elapsed < BOUND_S
        health, elapsed = _timed(api, "GET", "/healthz")
        assert health.status_code == 200 and elapsed < 1.0
    finally:
        os.kill(pid, signal.SIGCONT)

    deadline = time.monotonic() + 30
    while api.get(f"/trainmodel/status/{task}").status_code != 200:
        assert time.monotonic() < deadline, "the API did not recover after the API server did"
        time.sleep(0.2)
    assert api.get("/readyz").json() == {"status": "ok"}
