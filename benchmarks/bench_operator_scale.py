"""Operator memory at scale (issue 13, item 4): RSS with many TrainingJobs and unrelated Jobs.

Figures, not a timed test. On one dev cluster (upstream etcd, kube-apiserver and
kube-controller-manager; no kubelet, so no pod ever runs) one namespace holds:
- `--trainingjobs` suspended TrainingJobs, created directly through the API and marked as
  already handled (Kopf's diff-base annotation, as the operator's own bookkeeping writes it),
  so the operator lists, indexes and follows them but makes no Job for them: this measures
  holding them, not the burst of creating their Jobs (bench_operator.py measures that);
- with `--own-jobs`, a suspended Job of each, as the operator renders it (its labels, owned);
- `--unrelated-jobs` suspended Jobs that are not the operator's (no wattcast labels).

The real `wattcast-operator`, under the chart's operator ServiceAccount and Role, is started
on that namespace twice: once as shipped (the API server filters Jobs and pods by the
operator's label selector, `wattcast.operator.kopf_settings.OWN_OBJECTS_SELECTOR`) and once
with that selector taken out (`--mode client`: Kopf lists and watches every Job and pod in
scope and filters on its handlers' `labels=`, the behaviour before issue 13). For each it
prints the peak RSS (VmHWM) once every TrainingJob is indexed (its metrics gauge counts them
all) and `--settle` seconds more, the RSS then, and how long that listing took; and, for
reference, the RSS of an operator on an empty namespace.

    .venv/bin/python benchmarks/bench_operator_scale.py [--trainingjobs 10000]
        [--unrelated-jobs 10000] [--own-jobs] [--mode both|server|client] [--workers 16]

Creating 20,000 objects takes minutes on a 2-core machine: lower the counts to fit.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kopf
from kubernetes import client

from wattcast.crd import InfluxSource, TrainingJob, constants
from wattcast.devtools.cluster.access import api_client, install_crds
from wattcast.devtools.cluster.chart import component_kubeconfig, install_identities
from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.devtools.cluster.fixtures import crd_paths
from wattcast.devtools.processes import free_port
from wattcast.operator import kopf_settings
from wattcast.operator.rendering import render_job
from wattcast.operator.settings import OperatorSettings

BIN = Path(sys.executable).parent
LABELS = {
    "server": "server-side selector (as shipped)",
    "client": "client-side filtering (before)",
}
SCALE, EMPTY = "bench-scale", "bench-empty"
SPEC = {
    "meterId": "meter1",
    "meterType": "electricity",
    "start": "2023-01-01T00:00:00Z",
    "end": "2023-06-01T00:00:00Z",
    "suspend": True,
}
# The operator as shipped, and with the server-side selector taken out (the old behaviour).
LAUNCH = {
    "server": "from wattcast.operator.main import main; raise SystemExit(main())",
    "client": (
        "from wattcast.operator import kopf_settings; kopf_settings.SERVER_FILTERED = (); "
        "from wattcast.operator.main import main; raise SystemExit(main())"
    ),
}


def tj_body(name: str, diffbase: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": SCALE}
    if diffbase is not None:
        metadata["annotations"] = {
            f"{constants.GROUP}/{kopf_settings.DIFFBASE_KEY}": diffbase,
        }
    return {
        "apiVersion": constants.API_VERSION,
        "kind": constants.KIND,
        "metadata": metadata,
        "spec": SPEC,
    }


def handled_annotation(custom: client.CustomObjectsApi) -> str:
    """Kopf's diff-base of a TrainingJob of SPEC, as the server defaults it and the operator's
    Kopf settings store it: with it, Kopf sees the TrainingJob as handled already."""
    created = custom.create_namespaced_custom_object(
        constants.GROUP, constants.VERSION, SCALE, constants.PLURAL, tj_body("probe", None)
    )
    custom.delete_namespaced_custom_object(
        constants.GROUP, constants.VERSION, SCALE, constants.PLURAL, "probe"
    )
    settings = kopf.OperatorSettings()
    kopf_settings.apply(settings, OperatorSettings())
    storage = settings.persistence.diffbase_storage
    essence = storage.build(body=kopf.Body(created))
    return json.dumps(essence, separators=(",", ":")) + "\n"


def unrelated_job(name: str) -> dict[str, Any]:
    labels = {"app": "someone-else", "app.kubernetes.io/managed-by": "Helm"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "suspend": True,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "main",
                            "image": "registry.example/batch:1",
                            "command": ["run-batch", "--input", f"/data/{name}"],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ],
                },
            },
        },
    }


def in_parallel(what: str, count: int, workers: int, make: Callable[[int], None]) -> float:
    start = time.perf_counter()
    done = 0
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(make, range(count)):
            done += 1
            if done % 2000 == 0:
                print(f"  {what}: {done}/{count} ({time.perf_counter() - start:.0f} s)", flush=True)
    elapsed = time.perf_counter() - start
    print(f"created {count} {what} in {elapsed:.0f} s ({count / max(elapsed, 1e-9):.0f}/s)")
    return elapsed


def populate(api: client.ApiClient, args: argparse.Namespace) -> None:
    custom = client.CustomObjectsApi(api)
    batch = client.BatchV1Api(api)
    diffbase = handled_annotation(custom)
    source = InfluxSource(url="http://influx:8086", bucket="b")
    settings = OperatorSettings()

    def trainingjob(i: int) -> None:
        created = custom.create_namespaced_custom_object(
            constants.GROUP,
            constants.VERSION,
            SCALE,
            constants.PLURAL,
            tj_body(f"tj-{i:05d}", diffbase),
        )
        if args.own_jobs:
            job = render_job(TrainingJob.model_validate(created), source, settings)
            batch.create_namespaced_job(SCALE, job, _preload_content=False)

    def other(i: int) -> None:
        batch.create_namespaced_job(SCALE, unrelated_job(f"other-{i:05d}"), _preload_content=False)

    what = "TrainingJobs" + (" with their Jobs" if args.own_jobs else "")
    in_parallel(what, args.trainingjobs, args.workers, trainingjob)
    in_parallel("unrelated Jobs", args.unrelated_jobs, args.workers, other)


def rss_mb(pid: int, field: str) -> float:
    """VmHWM: peak resident set; VmRSS: resident now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def indexed(port: int) -> int:
    """TrainingJobs the operator's phase gauge counts (all it has seen)."""
    found = re.findall(r"^wattcast_trainingjobs\{[^}]*\} (\S+)$", metrics(port), re.M)
    return int(sum(float(v) for v in found))


def own_requests(port: int) -> float:
    """The operator's own API requests (creating Jobs, writing status): none are expected."""
    found = re.findall(r"^wattcast_api_requests_total\{[^}]*\} (\S+)$", metrics(port), re.M)
    return sum(float(v) for v in found)


def measure(
    mode: str,
    kubeconfig: Path,
    workdir: Path,
    namespace: str,
    expected: int,
    settle: float,
    timeout: float,
) -> dict[str, float]:
    """Start the operator in `mode` on `namespace`; its RSS once it holds `expected`
    TrainingJobs and `settle` seconds more."""
    metrics_port, health_port = free_port(), free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "WATTCAST_NAMESPACES": namespace,
        "WATTCAST_INFLUX_URL": "http://influx:8086",
        "WATTCAST_INFLUX_BUCKET": "b",
        "WATTCAST_METRICS_PORT": str(metrics_port),
        "WATTCAST_HEALTH_PORT": str(health_port),
        "WATTCAST_LOG_FORMAT": "json",
    }
    log_path = workdir / f"operator-{mode}-{namespace}.log"
    log = log_path.open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH[mode], "--quiet"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        seen = -1
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.flush()
                tail = log_path.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"the operator ({mode}) exited with {proc.returncode}:\n{tail}")
            try:
                seen = indexed(metrics_port)
            except OSError:
                seen = -1
            if seen >= expected:
                break
            time.sleep(0.5)
        else:
            tail = log_path.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"the operator ({mode}) indexed {seen} of {expected}:\n{tail}")
        listed = time.perf_counter() - started
        time.sleep(settle)  # the Job and pod listings, and whatever they bring, settle
        return {
            "listed_s": listed,
            "peak_mb": rss_mb(proc.pid, "VmHWM"),
            "rss_mb": rss_mb(proc.pid, "VmRSS"),
            "requests": own_requests(metrics_port),
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainingjobs", type=int, default=10_000)
    parser.add_argument("--unrelated-jobs", type=int, default=10_000)
    parser.add_argument(
        "--own-jobs", action="store_true", help="give each TrainingJob its (suspended) Job too"
    )
    parser.add_argument("--mode", choices=["both", "server", "client"], default="both")
    parser.add_argument("--workers", type=int, default=16, help="threads creating objects")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds after indexing")
    parser.add_argument("--timeout", type=float, default=900.0, help="per operator start")
    args = parser.parse_args()
    modes = ["server", "client"] if args.mode == "both" else [args.mode]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-operator-scale-") as tmp:
        workdir = Path(tmp)
        cluster = DevCluster(workdir / "cluster", kubelet=False).start()
        try:
            admin = api_client(cluster.kubeconfig)
            admin.configuration.connection_pool_maxsize = max(32, args.workers)
            install_crds(cluster.kubeconfig, *crd_paths())
            install_identities(admin, cluster.kubeconfig, {"trainingNamespaces": [SCALE, EMPTY]})
            identity = component_kubeconfig(
                admin,
                cluster.server,
                cluster.control_plane.ca_file,
                "operator",
                workdir / "operator.kubeconfig",
            )
            populate(admin, args)
            admin.close()
            idle = measure("server", identity, workdir, EMPTY, 0, args.settle, args.timeout)
            own = " (each with its Job)" if args.own_jobs else ""
            print(f"\nTrainingJobs in scope:       {args.trainingjobs}{own}")
            print(f"unrelated Jobs in scope:     {args.unrelated_jobs}")
            print(f"operator on an empty namespace: peak {idle['peak_mb']:.0f} MB", flush=True)
            for mode in modes:
                results[mode] = figures = measure(
                    mode, identity, workdir, SCALE, args.trainingjobs, args.settle, args.timeout
                )
                print(
                    f"{LABELS[mode]:<36} peak RSS {figures['peak_mb']:.0f} MB, RSS "
                    f"{figures['rss_mb']:.0f} MB {args.settle:.0f} s later; all TrainingJobs "
                    f"indexed after {figures['listed_s']:.1f} s; own API requests "
                    f"{figures['requests']:.0f}; load average {os.getloadavg()[0]:.1f} on "
                    f"{os.cpu_count()} CPUs",
                    flush=True,
                )
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
