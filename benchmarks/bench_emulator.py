"""Emulated API server: per-request latency must not grow with requests served or objects stored.

Starts ``wattcast-emulator`` as a subprocess (the server alone in its process, as in the demo),
stores 1,000 TrainingJobs, then serves a steady mix of requests over one keep-alive HTTP
connection (GET one object, merge-patch its status, list with a field selector that pins one
name) and prints the median latency of the 100 requests before each checkpoint. Flat figures
from 100 to 5,000 requests served are the claim (kmock 0.8 went from ~24 ms to ~200 ms after
1,600 requests, DESIGN.md §7).

    .venv/bin/python benchmarks/bench_emulator.py [--objects 1000] [--requests 5000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
GROUP, VERSION, PLURAL = "wattcast.dev", "v1alpha1", "trainingjobs"


def _start(tmp: Path) -> tuple[subprocess.Popen[str], str]:
    exe = Path(sys.executable).with_name("wattcast-emulator")
    proc = subprocess.Popen(
        [
            str(exe),
            "--port",
            "0",
            "--kubeconfig",
            str(tmp / "kubeconfig"),
            "--crd",
            str(ROOT / "crds" / "trainingjob.yaml"),
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("serving "):
        proc.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    return proc, line.split()[1]


def _tj(name: str) -> dict[str, object]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TrainingJob",
        "metadata": {"name": name, "labels": {"bench": "yes"}},
        "spec": {
            "meterId": f"meter-{name}",
            "meterType": "electricity",
            "start": "2023-01-01T00:00:00Z",
            "end": "2023-12-31T00:00:00Z",
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    checkpoints = sorted({100, 1000, args.requests} & set(range(1, args.requests + 1)))
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _start(Path(tmp))
        try:
            session = requests.Session()
            base = f"{url}/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}"
            started = time.perf_counter()
            for i in range(args.objects):
                session.post(base, json=_tj(f"tj-{i:05d}"), timeout=10).raise_for_status()
            create_s = time.perf_counter() - started
            print(
                f"stored {args.objects} TrainingJobs in {create_s:.2f} s "
                f"({create_s / args.objects * 1000:.2f} ms per create)"
            )
            latencies: list[float] = []
            merge = {"Content-Type": "application/merge-patch+json"}
            for i in range(args.requests):
                name = f"tj-{i % args.objects:05d}"
                t0 = time.perf_counter()
                kind = i % 3
                if kind == 0:
                    resp = session.get(f"{base}/{name}", timeout=10)
                elif kind == 1:
                    patch = {"status": {"phase": "Training", "progress": i % 100}}
                    resp = session.patch(
                        f"{base}/{name}/status", json=patch, headers=merge, timeout=10
                    )
                else:
                    resp = session.get(
                        base, params={"fieldSelector": f"metadata.name={name}"}, timeout=10
                    )
                latencies.append(time.perf_counter() - t0)
                resp.raise_for_status()
            print(f"{'requests served':>16}  {'median of last 100':>19}")
            for point in checkpoints:
                window = latencies[max(0, point - 100) : point]
                print(f"{point:>16}  {statistics.median(window) * 1000:>16.2f} ms")
            first = statistics.median(latencies[:100])
            last = statistics.median(latencies[args.requests - 100 : args.requests])
            print(f"ratio last/first: {last / first:.2f} (flat is ~1)")
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
