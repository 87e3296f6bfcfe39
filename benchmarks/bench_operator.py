"""Operator burst benchmark (issues 4 and 12): 500 TrainingJobs on the real control plane.

Figures, not a timed test. On one dev cluster (upstream etcd, kube-apiserver and
kube-controller-manager; no kubelet, so no pod ever runs):
- the direct minimal request mix per TrainingJob (create its Job, patch its status once) sent
  as the administrator, one request after another from one client;
- the time from the first TrainingJob create until all their Jobs exist, with the real
  `wattcast-operator` watching, under the chart's operator ServiceAccount and Role; the ratio
  of the two is the headline figure (goal <= 2);
- p50/p99 TrainingJob->Job latency (TrainingJob create returned -> Job seen on a watch);
- the operator's peak RSS (VmHWM), its CPU and the API server's CPU in the burst;
- the operator's own API requests per TrainingJob (its wattcast_api_requests_total; Kopf's
  bookkeeping patches and watches are not in that counter).

The TrainingJobs are created with `suspend: true` in both halves, so the real Job controller
makes no pods (and no pod stays Pending for want of a node): on a 2-core machine it would
otherwise compete with the operator for the CPU this measures.

    .venv/bin/python benchmarks/bench_operator.py [--count 500] [--workers 8]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from kubernetes import client, watch

from wattcast.crd import InfluxSource, TrainingJob
from wattcast.devtools.cluster.access import api_client, install_crds
from wattcast.devtools.cluster.chart import component_kubeconfig, install_identities
from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.devtools.cluster.fixtures import crd_paths
from wattcast.devtools.processes import free_port
from wattcast.operator.rendering import render_job
from wattcast.operator.settings import OperatorSettings

BIN = Path(sys.executable).parent
DIRECT, BURST = "bench-direct", "bench-operator"
SPEC = {
    "meterId": "meter1",
    "meterType": "electricity",
    "start": "2023-01-01T00:00:00Z",
    "end": "2023-06-01T00:00:00Z",
    "suspend": True,
}


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
    source = InfluxSource(url="http://influx:8086", bucket="b")
    settings = OperatorSettings()
    jobs = []
    for i in range(count):
        created = custom.create_namespaced_custom_object(
            "wattcast.dev", "v1alpha1", DIRECT, "trainingjobs", tj_body(DIRECT, f"tj-{i:04d}")
        )
        jobs.append(render_job(TrainingJob.model_validate(created), source, settings))
    start = time.perf_counter()
    for job in jobs:
        name = job["metadata"]["name"]
        batch.create_namespaced_job(DIRECT, job, _preload_content=False)
        custom.patch_namespaced_custom_object_status(
            "wattcast.dev",
            "v1alpha1",
            DIRECT,
            "trainingjobs",
            name,
            {"status": {"phase": "Suspended", "jobName": name}},
            _content_type="application/merge-patch+json",
            _preload_content=False,
        )
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_operator(kubeconfig: Path, workdir: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    health = free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "WATTCAST_NAMESPACES": BURST,
        "WATTCAST_INFLUX_URL": "http://influx:8086",
        "WATTCAST_INFLUX_BUCKET": "b",
        "WATTCAST_METRICS_PORT": str(metrics_port),
        "WATTCAST_HEALTH_PORT": str(health),
        "WATTCAST_LOG_FORMAT": "json",
    }
    log = (workdir / "operator.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "wattcast-operator"), "--quiet"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    wait_http(f"http://127.0.0.1:{health}/healthz", proc)
    return proc


def burst(api: client.ApiClient, count: int, workers: int) -> tuple[float, list[float]]:
    """Create `count` TrainingJobs from `workers` threads; seconds until all Jobs exist, and
    each TrainingJob's latency until its Job was seen on a watch."""
    custom = client.CustomObjectsApi(api)
    batch = client.BatchV1Api(api)
    seen: dict[str, float] = {}
    created: dict[str, float] = {}
    all_seen = threading.Event()
    rv = batch.list_namespaced_job(BURST).metadata.resource_version

    def follow() -> None:
        for event in watch.Watch().stream(
            batch.list_namespaced_job, BURST, resource_version=rv, timeout_seconds=600
        ):
            if event["type"] == "ADDED":
                seen.setdefault(event["object"].metadata.name, time.perf_counter())
                if len(seen) >= count:
                    all_seen.set()
                    return

    threading.Thread(target=follow, daemon=True).start()
    time.sleep(0.5)  # the watch is open before the first create

    def create(i: int) -> None:
        name = f"tj-{i:04d}"
        custom.create_namespaced_custom_object(
            "wattcast.dev", "v1alpha1", BURST, "trainingjobs", tj_body(BURST, name)
        )
        created[name] = time.perf_counter()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(create, range(count)))
    if not all_seen.wait(300):
        raise RuntimeError(f"only {len(seen)} of {count} Jobs appeared")
    return max(seen.values()) - start, [seen[name] - created[name] for name in created]


def settle(api: client.ApiClient, count: int, timeout: float = 180) -> None:
    """Wait until every TrainingJob's status names its Job (the operator's work is done)."""
    custom = client.CustomObjectsApi(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = custom.list_namespaced_custom_object(
            "wattcast.dev", "v1alpha1", BURST, "trainingjobs"
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


def operator_requests(metrics_port: int) -> dict[str, float]:
    """wattcast_api_requests_total by verb and resource, from the operator's metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^wattcast_api_requests_total\{(?P<labels>[^}]*)\} (?P<v>\S+)$", line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
            key = f"{labels['verb']} {labels['resource']}"
            found[key] = found.get(key, 0.0) + float(match["v"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--workers", type=int, default=8, help="threads creating TrainingJobs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-operator-") as tmp:
        workdir = Path(tmp)
        cluster = DevCluster(workdir / "cluster", kubelet=False).start()
        try:
            admin = api_client(cluster.kubeconfig)
            admin.configuration.connection_pool_maxsize = 32
            install_crds(cluster.kubeconfig, *crd_paths())
            install_identities(admin, cluster.kubeconfig, {"trainingNamespaces": [DIRECT, BURST]})
            direct = direct_mix(admin, args.count)
            identity = component_kubeconfig(
                admin,
                cluster.server,
                cluster.control_plane.ca_file,
                "operator",
                workdir / "operator.kubeconfig",
            )
            metrics_port = free_port()
            operator = start_operator(identity, workdir, metrics_port)
            apiserver = cluster.control_plane.apiserver
            assert apiserver is not None and apiserver.pid is not None
            try:
                before = operator_requests(metrics_port)
                idle_rss = rss_mb(operator.pid, "VmRSS")
                cpu_before = cpu_seconds(operator.pid)
                server_before = cpu_seconds(apiserver.pid)
                elapsed, latencies = burst(admin, args.count, args.workers)
                settle(admin, args.count)
                time.sleep(1.0)  # let trailing Event posts and bookkeeping patches land
                made = {
                    k: v - before.get(k, 0.0) for k, v in operator_requests(metrics_port).items()
                }
                rss = rss_mb(operator.pid)
                cpu = cpu_seconds(operator.pid) - cpu_before
                server_cpu = cpu_seconds(apiserver.pid) - server_before
                load = os.getloadavg()[0]
            finally:
                operator.send_signal(signal.SIGTERM)
                operator.wait(30)
            admin.close()
        finally:
            cluster.stop()

    per_tj = sum(made.values()) / args.count
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
    print(f"kube-apiserver CPU in the burst:       {server_cpu:.1f} s")
    print(f"operator's own API requests per TJ:    {per_tj:.2f} (Kopf's own not counted)")
    for key, value in sorted(made.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<32} {value / args.count:.2f} per TrainingJob ({value:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
