"""Benchmark: how long the REST API takes to answer 503 while the Kubernetes API hangs
(accepts connections, never answers) or is down (connection refused), over loopback.

    .venv/bin/python benchmarks/bench_api_kube_timeouts.py [--timeout 3] [--burst 32]

The app runs in this process under uvicorn with WATTCAST_API_KUBE_TIMEOUT_SECONDS=--timeout
and its real Kubernetes client. For each route: the time to the 503 of one request; then a
burst of concurrent status reads (more than the API's worker threads). Prints figures only.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from wattcast.api.core.config import Settings, get_settings
from wattcast.api.main import create_app
from wattcast.devtools.serving import ServedApp
from wattcast.devtools.silentserver import SilentServer, closed_port, kubeconfig_for

TOKEN = "bench-timeouts-token"
SPEC = {
    "meterId": "meter1",
    "meterType": "electricity",
    "start": "2023-01-01T00:00:00Z",
    "end": "2023-12-31T00:00:00Z",
}
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/readyz", None),
    ("GET", "/trainmodel/status/tj-bench", None),
    (
        "POST",
        "/trainmodel/v2/",
        {
            "meter_id": "meter1",
            "meter_type": "electricity",
            "start_date": "2023-01-01T00:00:00Z",
            "end_date": "2023-12-31T00:00:00Z",
        },
    ),
    ("GET", "/v1/trainingjobs", None),
    ("POST", "/v1/trainingjobs", {"name": "tj-bench", **SPEC}),
    ("POST", "/v1/trainingjobs/tj-bench/suspend", None),
    ("GET", "/v1/events", None),
]


def serve(kubeconfig: Path, timeout: float) -> ServedApp:
    settings = Settings(
        api_tokens=TOKEN,
        api_kubeconfig=kubeconfig,
        api_namespace="default",
        api_kube_timeout_seconds=timeout,
    )
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    return ServedApp(app).start()


def timed(client: httpx.Client, method: str, path: str, body: Any) -> tuple[int, float]:
    started = time.monotonic()
    response = client.request(method, path, json=body)
    return response.status_code, time.monotonic() - started


def measure(label: str, kubeconfig: Path, timeout: float, burst: int) -> None:
    served = serve(kubeconfig, timeout)
    try:
        with httpx.Client(
            base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
        ) as client:
            print(f"{label} (timeout {timeout:g} s):")
            for method, path, body in ROUTES:
                status, elapsed = timed(client, method, path, body)
                print(f"  {method:6} {path:40} {status}  {elapsed:6.2f} s")
            with ThreadPoolExecutor(max_workers=burst) as pool:
                results = list(
                    pool.map(
                        lambda i: timed(client, "GET", f"/trainmodel/status/tj-{i}", None),
                        range(burst),
                    )
                )
            times = [t for _, t in results]
            codes = sorted({c for c, _ in results})
            print(
                f"  burst of {burst} status reads: answers {codes}, median "
                f"{statistics.median(times):.2f} s, max {max(times):.2f} s"
            )
    finally:
        served.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--burst", type=int, default=32)
    args = parser.parse_args()
    # Every failed call is logged with its cause; the figures are what this prints.
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp, SilentServer() as silent:
        measure(
            "hung API server",
            kubeconfig_for(Path(tmp) / "hung", silent.port),
            args.timeout,
            args.burst,
        )
        measure(
            "API server down",
            kubeconfig_for(Path(tmp) / "down", closed_port()),
            args.timeout,
            args.burst,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
