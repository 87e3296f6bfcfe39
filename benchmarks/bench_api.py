"""Benchmark: a burst of concurrent seed submissions against a real `wattcast-api` (uvicorn)
on the dev cluster's real kube-apiserver, over loopback; the API acts as the chart's API
ServiceAccount, with the chart's RBAC.

    .venv/bin/python benchmarks/bench_api.py [--submissions 500] [--concurrency 500]

Each submission is `POST /trainmodel/v2/` with its own meter and Idempotency-Key (a 503/429
is retried with the same key, as clients are told to). While the burst runs, four pollers keep
reading `GET /trainmodel/status/{task_id}` of one job. Afterwards every TrainingJob is listed
from the API server and compared with the answers: lost = answered 2xx but not there,
duplicates = more TrainingJobs than submissions (or one meter twice). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from kubernetes import client, config

from wattcast.devtools.cluster.access import api_client, install_crds
from wattcast.devtools.cluster.chart import component_kubeconfig, install_identities
from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.devtools.cluster.fixtures import crd_paths
from wattcast.devtools.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKEN = "bench-token-" + uuid.uuid4().hex
NAMESPACE = "bench"
POLLERS = 4


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_api(kubeconfig: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WATTCAST_API_TOKENS": TOKEN,
        "WATTCAST_API_KUBECONFIG": str(kubeconfig),
        "WATTCAST_API_NAMESPACE": NAMESPACE,
    }
    proc = subprocess.Popen(
        [
            str(BIN / "wattcast-api"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the API did not become ready")


async def burst(url: str, submissions: int, concurrency: int) -> dict[str, Any]:
    # aiohttp, not httpx, as the load generator: it shares the CPUs with the API and the
    # control plane, and costs several times less per request.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    connector = aiohttp.TCPConnector(limit=concurrency + 1)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        url, headers=headers, connector=connector, timeout=timeout
    ) as c:
        async with c.post("/trainmodel/v2/", json=body("probe")) as probe:
            probe_id = (await probe.json())["task_id"]
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        retries = 0
        task_ids: list[str] = []

        async def submit(i: int) -> None:
            nonlocal retries
            key = f"bench-{i}-{uuid.uuid4()}"
            async with gate:
                started = time.perf_counter()
                while True:
                    async with c.post(
                        "/trainmodel/v2/", json=body(f"meter-{i}"), headers={"Idempotency-Key": key}
                    ) as r:
                        answer = await r.json()
                        if r.status in {429, 503}:
                            retries += 1
                            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                            continue
                        break
                latencies.append(time.perf_counter() - started)
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status == 200:
                    task_ids.append(answer["task_id"])

        status_latencies: list[float] = []
        done = asyncio.Event()

        async def poll() -> None:
            while not done.is_set():
                started = time.perf_counter()
                async with c.get(f"/trainmodel/status/{probe_id}") as r:
                    await r.read()
                    assert r.status == 200
                status_latencies.append(time.perf_counter() - started)

        # A few status readers at once, as clients polling their tasks would be.
        pollers = [asyncio.create_task(poll()) for _ in range(POLLERS)]
        started = time.perf_counter()
        await asyncio.gather(*(submit(i) for i in range(submissions)))
        wall = time.perf_counter() - started
        done.set()
        await asyncio.gather(*pollers)
    return {
        "probe": probe_id,
        "wall": wall,
        "latencies": latencies,
        "statuses": statuses,
        "retries": retries,
        "task_ids": task_ids,
        "status_latencies": status_latencies,
    }


def body(meter: str) -> dict[str, str]:
    return {
        "meter_id": meter,
        "meter_type": "electricity",
        "start_date": "2023-01-01T00:00:00Z",
        "end_date": "2023-12-31T23:59:59Z",
    }


def stored_jobs(kubeconfig: Path) -> list[dict[str, Any]]:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with client.ApiClient(configuration) as api_client:
        api = client.CustomObjectsApi(api_client)
        items: list[dict[str, Any]] = []
        token = None
        while True:
            kwargs = {"limit": 500, **({"_continue": token} if token else {})}
            page = api.list_namespaced_custom_object(
                "wattcast.dev", "v1alpha1", NAMESPACE, "trainingjobs", **kwargs
            )
            items += page["items"]
            token = page["metadata"].get("continue")
            if not token:
                return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=500)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-api-") as tmp,
        DevCluster(Path(tmp) / "cluster", kubelet=False) as cluster,
    ):
        kubeconfig = cluster.kubeconfig
        install_crds(kubeconfig, *crd_paths())
        with api_client(kubeconfig) as admin:
            install_identities(admin, kubeconfig, {"trainingNamespaces": [NAMESPACE]})
            api_kubeconfig = component_kubeconfig(
                admin,
                cluster.server,
                cluster.control_plane.ca_file,
                "api",
                Path(tmp) / "api.kubeconfig",
            )
        port = free_port()
        api = start_api(api_kubeconfig, port)
        try:
            result = asyncio.run(
                burst(f"http://127.0.0.1:{port}", args.submissions, args.concurrency)
            )
            jobs = stored_jobs(kubeconfig)
        finally:
            api.terminate()
            api.wait(15)
    names = {j["metadata"]["name"] for j in jobs} - {result["probe"]}
    meters = [j["spec"]["meterId"] for j in jobs if j["metadata"]["name"] != result["probe"]]
    answered = set(result["task_ids"])
    lost = len(answered - names)
    duplicates = (len(names) - args.submissions) + (len(meters) - len(set(meters)))
    lat = result["latencies"]
    st = result["status_latencies"]
    print(f"submissions           {args.submissions} (concurrency {args.concurrency})")
    print(
        f"answers               {dict(sorted(result['statuses'].items()))}, "
        f"retries after 429/503: {result['retries']}"
    )
    print(f"TrainingJobs stored   {len(names)}")
    print(f"lost                  {lost}")
    print(f"duplicates            {max(0, duplicates)}")
    print(f"burst wall time       {result['wall']:.2f} s")
    print(f"throughput            {args.submissions / result['wall']:.0f} submissions/s")
    print(
        f"submit latency        p50 {percentile(lat, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(lat, 0.99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms"
    )
    print(
        f"GET status in burst   {len(st)} requests, p50 {percentile(st, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(st, 0.99) * 1000:.0f} ms"
    )
    print(f"mean submit latency   {statistics.fmean(lat) * 1000:.0f} ms")
    ok = lost == 0 and duplicates == 0 and len(names) == args.submissions
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
