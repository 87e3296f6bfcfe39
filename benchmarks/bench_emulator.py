"""Emulated API server: per-request latency must not grow with requests served or objects stored.

Starts ``wattcast-emulator`` as a subprocess (the server alone in its process, as in the demo),
stores 1,000 TrainingJobs, then serves a steady mix of requests over one keep-alive HTTP
connection (GET one object, merge-patch its status, list with a field selector that pins one
name; through http.client, so the figures are mostly the server's) and prints the median
latency of the 100 requests before each checkpoint. Flat figures from 100 to 5,000 requests
served are the claim (kmock 0.8 went from ~24 ms to ~200 ms after 1,600 requests,
docs/emulator.md).

    .venv/bin/python benchmarks/bench_emulator.py [--objects 1000] [--requests 5000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from wattcast.devtools.emulator.process import spawn_emulator

ROOT = Path(__file__).resolve().parents[1]
GROUP, VERSION, PLURAL = "wattcast.dev", "v1alpha1", "trainingjobs"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), or -1 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        proc, url = spawn_emulator(Path(tmp) / "kubeconfig")
        try:
            parts = urlsplit(url)
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
            base = f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}"

            def call(method: str, path: str, body: object = None, ctype: str = "") -> int:
                headers = {"Content-Type": ctype or "application/json"} if body else {}
                data = json.dumps(body) if body is not None else None
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                resp.read()
                return resp.status

            started = time.perf_counter()
            for i in range(args.objects):
                assert call("POST", base, _tj(f"tj-{i:05d}")) == 201
            create_s = time.perf_counter() - started
            print(
                f"stored {args.objects} TrainingJobs in {create_s:.2f} s "
                f"({create_s / args.objects * 1000:.2f} ms per create)"
            )
            latencies: list[float] = []
            merge = "application/merge-patch+json"
            cpu_at: dict[int, float] = {}
            window = min(1000, args.requests // 2)
            marks = {0, window, args.requests - window, args.requests}
            for i in range(args.requests + 1):
                if i in marks:
                    cpu_at[i] = _cpu_seconds(proc.pid)
                if i == args.requests:
                    break
                name = f"tj-{i % args.objects:05d}"
                t0 = time.perf_counter()
                kind = i % 3
                if kind == 0:
                    status = call("GET", f"{base}/{name}")
                elif kind == 1:
                    patch = {"status": {"phase": "Training", "progress": i % 100}}
                    status = call("PATCH", f"{base}/{name}/status", patch, merge)
                else:
                    query = urlencode({"fieldSelector": f"metadata.name={name}"})
                    status = call("GET", f"{base}?{query}")
                latencies.append(time.perf_counter() - t0)
                assert status == 200, status
            cpu_marks: tuple[float, float] | None = None
            if all(v >= 0 for v in cpu_at.values()) and window:
                cpu_marks = (
                    (cpu_at[window] - cpu_at[0]) / window * 1000,
                    (cpu_at[args.requests] - cpu_at[args.requests - window]) / window * 1000,
                )
            print(f"{'requests served':>16}  {'median of last 100':>19}  {'p10 of last 100':>16}")
            for point in checkpoints:
                window = sorted(latencies[max(0, point - 100) : point])
                p10 = window[len(window) // 10]
                print(
                    f"{point:>16}  {statistics.median(window) * 1000:>16.2f} ms"
                    f"  {p10 * 1000:>13.2f} ms"
                )
            first = statistics.median(latencies[:100])
            last = statistics.median(latencies[args.requests - 100 : args.requests])
            print(f"ratio of medians last/first: {last / first:.2f} (flat is ~1)")
            if cpu_marks:
                early, late = cpu_marks
                print(
                    f"server CPU per request: {early:.3f} ms over the first 1,000, "
                    f"{late:.3f} ms over the last 1,000 (scheduler noise excluded)"
                )
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
