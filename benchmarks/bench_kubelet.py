"""Benchmark: the process kubelet draining a burst of pods on the real control plane.

    .venv/bin/python benchmarks/bench_kubelet.py [--pods 50] [--capacity 4]

Starts a dev cluster (etcd, kube-apiserver, kube-controller-manager, the process kubelet),
creates `--pods` pods at once (each runs `true` in its sandbox), and follows them with a watch:
per pod the seconds from creation to Running and to Succeeded as this client saw them, and the
whole drain. Prints figures only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from wattcast.devtools.cluster.access import api_client, create_namespace
from wattcast.devtools.cluster.devcluster import DevCluster

NAMESPACE = "bench-kubelet"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--capacity", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-kubelet-") as tmp:
        began = time.monotonic()
        cluster = DevCluster(Path(tmp), capacity=args.capacity).start()
        started_in = time.monotonic() - began
        try:
            api = api_client(cluster.kubeconfig)
            core = client.CoreV1Api(api)
            create_namespace(api, NAMESPACE)
            while True:  # pods need the namespace's default ServiceAccount
                try:
                    core.read_namespaced_service_account("default", NAMESPACE)
                    break
                except ApiException:
                    time.sleep(0.1)
            created: dict[str, float] = {}
            running: dict[str, float] = {}
            done: dict[str, float] = {}
            finished = threading.Event()

            def follow() -> None:
                answer = core.list_namespaced_pod(
                    NAMESPACE, watch=True, timeout_seconds=600, _preload_content=False
                )
                for line in iter_resp_lines(answer):
                    if not line.strip():
                        continue
                    pod = json.loads(line)["object"]
                    name, phase = pod["metadata"]["name"], pod.get("status", {}).get("phase")
                    now = time.monotonic()
                    if phase == "Running":
                        running.setdefault(name, now)
                    if phase in ("Succeeded", "Failed"):
                        done.setdefault(name, now)
                        if len(done) == args.pods:
                            finished.set()
                            return

            watcher = threading.Thread(target=follow, daemon=True)
            watcher.start()
            time.sleep(0.5)
            burst = time.monotonic()
            for i in range(args.pods):
                name = f"p-{i:04d}"
                body = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": name},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "none", "command": ["true"]}],
                    },
                }
                created[name] = time.monotonic()
                core.create_namespaced_pod(NAMESPACE, body)
            finished.wait(600)
            drain = time.monotonic() - burst
            to_running = [running[n] - created[n] for n in running if n in created]
            to_done = [done[n] - created[n] for n in done if n in created]
            failed = sum(
                1
                for p in core.list_namespaced_pod(NAMESPACE).items
                if p.status.phase != "Succeeded"
            )
            lines = [
                f"control plane + kubelet start: {started_in:.1f} s",
                f"pods: {args.pods}, capacity {args.capacity}, not Succeeded: {failed}",
                f"drain: {drain:.1f} s ({args.pods / drain:.1f} pods/s)",
                f"created -> Running: p50 {statistics.median(to_running):.2f} s, "
                f"p99 {percentile(to_running, 0.99):.2f} s (seen {len(to_running)})",
                f"created -> Succeeded: p50 {statistics.median(to_done):.2f} s, "
                f"p99 {percentile(to_done, 0.99):.2f} s",
            ]
            sys.stdout.write("\n".join(lines) + "\n")
            api.close()  # type: ignore[no-untyped-call]
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
