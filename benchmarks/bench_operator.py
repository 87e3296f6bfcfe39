"""Operator burst benchmark (issue 4): 500 TrainingJobs against the emulated API server.

Figures, not a timed test:
- time from the first TrainingJob create until all their Jobs exist, with the real
  `wattcast-operator` watching;
- next to it, the time the same server takes for the minimal request mix per TrainingJob
  (create the Job, patch the status once) sent directly, one request after another, from one
  client; their ratio is the headline figure (goal ≤ 2);
- API requests the operator makes per TrainingJob (counted by a pass-through proxy, in a
  second run, so the proxy's cost never enters the timings);
- p50/p99 TrainingJob→Job latency (TrainingJob create returned → Job seen on a watch);
- the operator's peak RSS (VmHWM).

    .venv/bin/python benchmarks/bench_operator.py [--count 500] [--workers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import requests
from aiohttp import web
from kubernetes import client, config

from wattcast.crd import InfluxSource, TrainingJob
from wattcast.operator.rendering import render_job
from wattcast.operator.settings import OperatorSettings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SPEC = {
    "meterId": "meter1",
    "meterType": "electricity",
    "start": "2023-01-01T00:00:00Z",
    "end": "2023-06-01T00:00:00Z",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


class Emulator:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.kubeconfig = workdir / "emulator.kubeconfig"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve-emulator",
                str(self.port),
                "--kubeconfig",
                str(self.kubeconfig),
            ],
            stdout=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        wait_http(self.url + "/version", self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


RESOURCES = {"trainingjobs", "jobs", "pods", "events", "namespaces", "kopfpeerings"}
BENCH_AGENT = "wattcast-bench"


async def serve_counting_emulator(port: int, kubeconfig: Path) -> None:
    """The emulator, plus a middleware counting every request not made by this benchmark
    (i.e. the operator's: Kopf's and its kubernetes client's), read at /_bench/counts."""
    from wattcast.devtools.emulator.kubeconfig import write_kubeconfig
    from wattcast.devtools.emulator.main import prepare_store
    from wattcast.devtools.emulator.server import EmulatorServer
    from wattcast.devtools.emulator.store import Store

    store = Store()
    prepare_store(
        store,
        crd_files=[ROOT / "crds" / "trainingjob.yaml"],
        namespaces=["bench-direct", "bench-operator"],
    )
    server = EmulatorServer(port=port, store=store)
    counts: collections.Counter[str] = collections.Counter()

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        agent = request.headers.get("User-Agent", "")
        if BENCH_AGENT not in agent and "python-requests" not in agent:
            parts = [p for p in request.path.split("/") if p]
            resource = next((p for p in reversed(parts) if p in RESOURCES), "other")
            if parts and parts[-1] == "status":
                resource += "/status"
            watch = request.query.get("watch") in ("true", "1")
            counts[f"{'WATCH' if watch else request.method} {resource}"] += 1
        response: web.StreamResponse = await handler(request)
        return response

    async def read_counts(request: web.Request) -> web.Response:
        body = dict(counts)
        if request.query.get("reset"):
            counts.clear()
        return web.json_response(body)

    server.emulator.app.middlewares.insert(0, count)
    server.emulator.app.router.add_get("/_bench/counts", read_counts)
    await server.start()
    write_kubeconfig(kubeconfig, server.url)
    print("ready", flush=True)
    await asyncio.Event().wait()


def api_for(kubeconfig: Path, server: str | None = None) -> client.ApiClient:
    configuration = client.Configuration()
    config.load_kube_config(str(kubeconfig), client_configuration=configuration)
    if server:
        configuration.host = server
    configuration.connection_pool_maxsize = 32
    api = client.ApiClient(configuration)
    api.user_agent = BENCH_AGENT
    return api


def tj_body(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "wattcast.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": SPEC,
    }


def direct_mix(api: client.ApiClient, count: int) -> float:
    """Seconds for the minimal mix per TrainingJob (create Job, patch status), sequential."""
    custom = client.CustomObjectsApi(api)
    batch = client.BatchV1Api(api)
    ns = "bench-direct"
    source = InfluxSource(url="http://influx:8086", bucket="b")
    settings = OperatorSettings()
    jobs = []
    for i in range(count):
        created = custom.create_namespaced_custom_object(
            "wattcast.dev", "v1alpha1", ns, "trainingjobs", tj_body(ns, f"tj-{i:04d}")
        )
        jobs.append(render_job(TrainingJob.model_validate(created), source, settings))
    start = time.perf_counter()
    for job in jobs:
        name = job["metadata"]["name"]
        batch.create_namespaced_job(ns, job, _preload_content=False)
        custom.patch_namespaced_custom_object_status(
            "wattcast.dev",
            "v1alpha1",
            ns,
            "trainingjobs",
            name,
            {"status": {"phase": "Pending", "jobName": name}},
            _content_type="application/merge-patch+json",
            _preload_content=False,
        )
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_operator(
    kubeconfig: Path, namespace: str, workdir: Path, verbose: bool = False
) -> subprocess.Popen[bytes]:
    health = free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "WATTCAST_NAMESPACES": namespace,
        "WATTCAST_INFLUX_URL": "http://influx:8086",
        "WATTCAST_INFLUX_BUCKET": "b",
        "WATTCAST_METRICS_PORT": "0",
        "WATTCAST_HEALTH_PORT": str(health),
        "WATTCAST_LOG_FORMAT": "json",
    }
    log = (workdir / f"operator-{namespace}.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "wattcast-operator"), "--verbose" if verbose else "--quiet"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_http(f"http://127.0.0.1:{health}/healthz", proc)
    return proc


def burst(
    api: client.ApiClient, server: str, namespace: str, count: int, workers: int
) -> tuple[float, list[float]]:
    """Create `count` TrainingJobs from `workers` threads; seconds until all Jobs exist, and
    each TrainingJob's latency until its Job was seen on a watch."""
    custom = client.CustomObjectsApi(api)
    seen: dict[str, float] = {}
    created: dict[str, float] = {}
    all_seen = threading.Event()
    session = requests.Session()  # its python-requests agent is not counted
    listing = session.get(f"{server}/apis/batch/v1/namespaces/{namespace}/jobs", timeout=10)
    rv = listing.json()["metadata"]["resourceVersion"]

    def watch() -> None:
        with session.get(
            f"{server}/apis/batch/v1/namespaces/{namespace}/jobs",
            params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "600"},
            stream=True,
            timeout=None,
        ) as response:
            for line in response.iter_lines():
                if not line:
                    continue
                event = json.loads(line)
                if event["type"] == "ADDED":
                    seen.setdefault(event["object"]["metadata"]["name"], time.perf_counter())
                    if len(seen) >= count:
                        all_seen.set()
                        return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    time.sleep(0.2)

    def create(i: int) -> None:
        name = f"tj-{i:04d}"
        custom.create_namespaced_custom_object(
            "wattcast.dev", "v1alpha1", namespace, "trainingjobs", tj_body(namespace, name)
        )
        created[name] = time.perf_counter()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(create, range(count)))
    if not all_seen.wait(300):
        raise RuntimeError(f"only {len(seen)} of {count} Jobs appeared")
    elapsed = max(seen.values()) - start
    latencies = [seen[name] - created[name] for name in created]
    return elapsed, latencies


def settle(api: client.ApiClient, namespace: str, count: int, timeout: float = 120) -> None:
    """Wait until every TrainingJob's status names its Job (the operator's work is done)."""
    custom = client.CustomObjectsApi(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = custom.list_namespaced_custom_object(
            "wattcast.dev", "v1alpha1", namespace, "trainingjobs"
        )["items"]
        if sum(1 for i in items if (i.get("status") or {}).get("jobName")) >= count:
            return
        time.sleep(0.5)
    raise RuntimeError("the operator did not record every Job")


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    """VmHWM: peak resident set; VmRSS: resident now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def counts(server: str, reset: bool = False) -> dict[str, int]:
    response = requests.get(
        f"{server}/_bench/counts", params={"reset": "1"} if reset else {}, timeout=10
    )
    result: dict[str, int] = response.json()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--workers", type=int, default=8, help="threads creating TrainingJobs")
    parser.add_argument("--keep", type=Path, help="keep the operator's log in this folder")
    parser.add_argument("--serve-emulator", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_emulator is not None:
        asyncio.run(serve_counting_emulator(args.serve_emulator, args.kubeconfig))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-operator-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        emulator = Emulator(workdir)
        try:
            api = api_for(emulator.kubeconfig)
            direct = direct_mix(api, args.count)
            operator = start_operator(
                emulator.kubeconfig, "bench-operator", workdir, verbose=args.keep is not None
            )
            try:
                counts(emulator.url, reset=True)  # the operator's start-up is not per TJ
                idle_rss = rss_mb(operator.pid, "VmRSS")
                cpu_before = cpu_seconds(operator.pid)
                server_before = cpu_seconds(emulator.proc.pid)
                elapsed, latencies = burst(
                    api, emulator.url, "bench-operator", args.count, args.workers
                )
                settle(api, "bench-operator", args.count)
                time.sleep(1.0)  # let trailing Event posts and bookkeeping patches land
                made = counts(emulator.url)
                rss = rss_mb(operator.pid)
                cpu = cpu_seconds(operator.pid) - cpu_before
                server_cpu = cpu_seconds(emulator.proc.pid) - server_before
                load = os.getloadavg()[0]
            finally:
                operator.send_signal(signal.SIGTERM)
                operator.wait(30)
        finally:
            emulator.stop()

    writes = {k: v for k, v in made.items() if not k.startswith("WATCH")}
    per_tj = sum(writes.values()) / args.count
    print(f"TrainingJobs in the burst:             {args.count} ({args.workers} client threads)")
    print(f"direct minimal mix (create+patch):     {direct:.2f} s ({args.count / direct:.0f}/s)")
    print(f"operator: all Jobs exist after:        {elapsed:.2f} s")
    print(f"ratio operator / direct:               {elapsed / direct:.2f}  (goal <= 2)")
    print(
        f"TrainingJob -> Job latency p50 / p99:  {statistics.median(latencies):.3f} s / "
        f"{percentile(latencies, 0.99):.3f} s  (goal p99 <= 2 s)"
    )
    print(
        f"operator peak RSS:                     {rss:.0f} MB  (goal <= 150 MB; "
        f"{idle_rss:.0f} MB idle before the burst)"
    )
    print(
        f"operator CPU during the burst:         {cpu:.1f} s ({1000 * cpu / args.count:.1f} ms "
        f"per TrainingJob); machine load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"emulated API server CPU in the burst:  {server_cpu:.1f} s")
    print(f"operator API requests per TrainingJob: {per_tj:.2f} (new watch streams not counted)")
    for key, value in sorted(writes.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<32} {value / args.count:.2f} per TrainingJob ({value})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
