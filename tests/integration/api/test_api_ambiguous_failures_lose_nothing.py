"""When the Kubernetes API fails in the middle of a create, the answer is still true.

A small HTTP proxy sits between the app and the real API server (mocking at the HTTP
boundary, not in the client); the app talks to it as the chart's API ServiceAccount. It can

- forward a create and then answer 504 anyway (the TrainingJob exists, the answer was lost):
  the API must find it and answer 2xx, once, with that TrainingJob;
- answer 500 without forwarding (nothing was created): the API must answer 503 with
  Retry-After, and a retry with the same Idempotency-Key creates exactly one TrainingJob;
- answer 429 with Retry-After: passed on as 429 with the server's Retry-After.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import yaml
from aiohttp import web
from api_support import TOKEN, served_client
from testkit import TrainingJobs

from wattcast.api.core.config import Settings
from wattcast.devtools.cluster.chart import ChartIdentities
from wattcast.devtools.cluster.controlplane import write_kubeconfig
from wattcast.devtools.cluster.devcluster import DevCluster


class FaultyProxy:
    """Forwards everything to the API server; creates of TrainingJobs fail as `mode` says."""

    def __init__(self, upstream: str, ca_file: Path) -> None:
        self.upstream = upstream
        self.ssl = ssl.create_default_context(cafile=str(ca_file))
        self.mode = "pass"  # pass | lose-answer | fail | throttle
        self.creates_seen = 0
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        is_create = request.method == "POST" and request.path.endswith("/trainingjobs")
        if is_create:
            self.creates_seen += 1
            if self.mode == "fail":
                return web.json_response(
                    {
                        "kind": "Status",
                        "code": 500,
                        "reason": "InternalError",
                        "message": "etcdserver: request timed out",
                    },
                    status=500,
                )
            if self.mode == "throttle":
                return web.json_response(
                    {
                        "kind": "Status",
                        "code": 429,
                        "reason": "TooManyRequests",
                        "message": "storage is (re)initializing",
                    },
                    status=429,
                    headers={"Retry-After": "3"},
                )
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in {"host", "content-length", "accept-encoding"}
        }
        async with self.session.request(
            request.method,
            self.upstream + request.path_qs,
            data=body,
            headers=headers,
            skip_auto_headers=("Content-Type",),
            ssl=self.ssl,
        ) as upstream:
            payload = await upstream.read()
            if is_create and self.mode == "lose-answer":
                return web.json_response(
                    {
                        "kind": "Status",
                        "code": 504,
                        "reason": "Timeout",
                        "message": "the server was unable to return a response in time",
                    },
                    status=504,
                )
            return web.Response(
                body=payload,
                status=upstream.status,
                headers={"Content-Type": upstream.headers.get("Content-Type", "application/json")},
            )

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> web.AppRunner:
            self.session = aiohttp.ClientSession()
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
            return runner

        runner = self.loop.run_until_complete(start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.run_until_complete(self.session.close())
        self.loop.close()

    def start(self) -> FaultyProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture
def proxy(devcluster: DevCluster) -> Iterator[FaultyProxy]:
    running = FaultyProxy(devcluster.server, devcluster.control_plane.ca_file).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def proxied_api(
    proxy: FaultyProxy,
    api_kubeconfig: Path,
    chart_identities: ChartIdentities,
    namespace: str,
    tmp_path: Path,
) -> Iterator[httpx.Client]:
    chart_identities.grant(namespace, "api")
    # The API's own identity (its ServiceAccount token), through the proxy in plain HTTP.
    document = yaml.safe_load(api_kubeconfig.read_text())
    document["clusters"][0]["cluster"] = {"server": proxy.url}
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", document)
    settings = Settings(
        api_tokens=TOKEN,
        api_kubeconfig=kubeconfig,
        api_namespace=namespace,
        api_retry_after_seconds=11,
    )
    with served_client(settings) as client:
        yield client


def test_a_create_whose_answer_was_lost_is_reported_as_accepted(
    proxied_api: httpx.Client, proxy: FaultyProxy, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    proxy.mode = "lose-answer"
    response = proxied_api.post("/trainmodel/v2/", json=seed_body)
    assert response.status_code == 200, response.text
    assert cluster.names() == [response.json()["task_id"]]
    assert proxy.creates_seen == 1


def test_a_failed_create_is_503_and_its_retry_creates_exactly_one(
    proxied_api: httpx.Client, proxy: FaultyProxy, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "retry-after-500"}
    proxy.mode = "fail"
    refused = proxied_api.post("/trainmodel/v2/", json=seed_body, headers=key)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "11"
    assert "Idempotency-Key" in refused.json()["detail"]
    assert cluster.items() == []

    proxy.mode = "pass"
    first = proxied_api.post("/trainmodel/v2/", json=seed_body, headers=key)
    second = proxied_api.post("/trainmodel/v2/", json=seed_body, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.json()["task_id"] == second.json()["task_id"]
    assert cluster.names() == [first.json()["task_id"]]


def test_throttling_is_passed_on_with_the_servers_retry_after(
    proxied_api: httpx.Client, proxy: FaultyProxy, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    proxy.mode = "throttle"
    response = proxied_api.post("/trainmodel/v2/", json=seed_body)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["code"] == "rate_limited"
    assert cluster.items() == []
