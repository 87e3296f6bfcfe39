"""Benchmark: a burst of tiny trainings through the whole local stack, and the time to drain it.

    .venv/bin/python benchmarks/bench_e2e.py [--jobs 50] [--capacity 2] [--days 28]

Starts the local stack (real InfluxDB, emulated API server, operator, REST API, local runner
with `--capacity` slots), writes `--jobs` synthetic meters, submits one tiny training each
(1 epoch, 24 h lookback, 3-day holdout) through `POST /v1/trainingjobs` all at once, and
waits until every one has finished. Prints figures only: submission time, time to the first
and the last SUCCESS (the drain), throughput, per-job wall time from submission to the end,
the most pods running at once, and the outcome counts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from wattcast.devtools.localrun.stack import LocalStack, StackOptions
from wattcast.devtools.testbed.synthetic import generate_meter

START = datetime(2024, 3, 4, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--capacity", type=int, default=2)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    end = START + timedelta(days=args.days)
    with tempfile.TemporaryDirectory(prefix="wattcast-bench-e2e-") as tmp:
        options = StackOptions(
            workdir=Path(tmp),
            capacity=args.capacity,
            backoff_base_seconds=1.0,
            pod_env={"WATTCAST_MIN_TRAINING_DAYS": "3"},
        )
        t0 = time.monotonic()
        with LocalStack(options) as stack:
            print(f"stack up in {time.monotonic() - t0:.1f}s", flush=True)
            meters = [f"bench-{i:03d}" for i in range(args.jobs)]
            for i, meter in enumerate(meters):
                frame = generate_meter("household", start=START, end=end, seed=i)
                stack.write_meter("electricity", meter, frame)
            http = httpx.Client(
                base_url=stack.api_url,
                headers={"Authorization": f"Bearer {stack.token}"},
                timeout=60,
            )
            runner = stack.runner
            assert runner is not None
            most = 0
            stop = threading.Event()

            def sample() -> None:
                nonlocal most
                while not stop.is_set():
                    most = max(most, len(runner.processes()))
                    time.sleep(0.1)

            threading.Thread(target=sample, daemon=True).start()

            def submit(meter: str) -> str:
                body = {
                    "meterId": meter,
                    "meterType": "electricity",
                    "start": START.isoformat(),
                    "end": end.isoformat(),
                    "model": {"epochs": 1, "holdoutDays": 3, "lookbackHours": 24},
                }
                response = http.post("/v1/trainingjobs", json=body)
                response.raise_for_status()
                return str(response.json()["name"])

            started = time.monotonic()
            with ThreadPoolExecutor(min(args.jobs, 32)) as pool:
                names = list(pool.map(submit, meters))
            submitted = time.monotonic() - started
            ended: dict[str, tuple[float, str]] = {}
            deadline = started + args.timeout
            while len(ended) < len(names) and time.monotonic() < deadline:
                listing = http.get("/v1/trainingjobs", params={"limit": 500}).json()
                now = time.monotonic() - started
                for item in listing.get("items") or []:
                    word = item["taskStatus"]
                    if item["name"] in names and item["finished"] and item["name"] not in ended:
                        ended[item["name"]] = (now, word)
                time.sleep(0.5)
            stop.set()
            http.close()
            outcomes: dict[str, int] = {}
            for _, word in ended.values():
                outcomes[word] = outcomes.get(word, 0) + 1
            times = sorted(t for t, _ in ended.values())
            print(f"jobs: {args.jobs}, node capacity: {args.capacity}, data: {args.days} days")
            print(f"submitted in {submitted:.2f}s")
            if times:
                drain = times[-1]
                print(f"first finished after {times[0]:.1f}s, last (drain) after {drain:.1f}s")
                print(f"throughput: {len(times) / drain * 60:.1f} trainings/min")
                print(
                    "per-job time from submission to end: median "
                    f"{statistics.median(times):.1f}s, p90 {times[int(len(times) * 0.9) - 1]:.1f}s"
                )
            print(f"most pods running at once: {most}")
            print(f"outcomes: {outcomes}; unfinished: {len(names) - len(ended)}")
            failed: list[Any] = [n for n, (_, w) in ended.items() if w != "SUCCESS"]
            if failed or len(ended) < len(names):
                print(stack.logs()[-4000:])
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
