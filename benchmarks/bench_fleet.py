"""Fleet benchmark (issue 17): one FleetTrainingJob against one TrainingJob per meter.

Figures, not a timed test. One local stack (benchmarks share wattcast.devtools.stack with the
end-to-end tests): InfluxDB 1.x, the real control plane and Job controller, the process kubelet
with `--capacity` pod slots (default 2), the real operator and trainer. `--meters` synthetic
meters of 8 weeks hourly are written once; then, in one run:

1. pure fit time: the trainer's whole per-meter path (`pipeline.run_job`: pull, prepare, fit,
   score, save) for `--pure` meters in this process, TensorFlow imported beforehand: what one
   meter costs with no process start, no import and no Kubernetes;
2. one FleetTrainingJob over all the meters (`metersPerPod` = meters / capacity, parallelism
   = capacity), from create to Succeeded;
3. one TrainingJob per meter, all created at once, until every one finished; over the first
   `--trainingjobs` meters only if given (a thousand take about 100 minutes on 2 CPUs), when
   the speed-up compares the time per meter.

For 2 and 3: wall time, the API server's requests (the sum of its `apiserver_request_total`,
every client included: operator, Job controller, kubelet, trainers) and the operator's peak
RSS (VmHWM; the operator is restarted before each, so each peak is its own). For the fleet
also the shards' own figures: seconds per meter in the shard processes, and their ratio to the
pure fit time (goal <= 1.3), and the speed-up over the TrainingJobs (goal >= 5).

    .venv/bin/python benchmarks/bench_fleet.py [--meters 1000] [--capacity 2] [--epochs 20]
        [--trainingjobs N]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client
from pydantic import SecretStr

from wattcast.crd import InfluxSource, constants
from wattcast.crd.fleettrainingjob import ShardReport
from wattcast.devtools.stack import LocalStack, StackOptions
from wattcast.devtools.testbed.synthetic import generate_meter

START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 56  # 8 weeks hourly
NAMESPACE = "default"


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Say on stderr when a phase starts and ends: a long run shows where it is."""
    print(f"[{datetime.now(UTC):%H:%M:%S}] {name} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    yield
    seconds = time.monotonic() - started
    print(f"[{datetime.now(UTC):%H:%M:%S}] {name}: {seconds:.1f} s", file=sys.stderr, flush=True)


def apiserver_requests(admin: client.ApiClient) -> float:
    """The sum of the API server's apiserver_request_total (every verb, resource, code)."""
    serialized = admin.param_serialize(
        "GET", "/metrics", header_params={"Accept": "text/plain"}, auth_settings=["BearerToken"]
    )
    response = admin.call_api(*serialized)
    response.read()  # type: ignore[no-untyped-call]
    total = 0.0
    for line in bytes(response.data).decode().splitlines():
        if line.startswith("apiserver_request_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def peak_rss_mb(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def model_spec(epochs: int) -> dict[str, Any]:
    return {"epochs": epochs, "holdoutDays": 7}


def pure_fit_seconds(
    stack: LocalStack, meters: list[str], epochs: int, workdir: Path
) -> list[float]:
    """run_job per meter in this process, TensorFlow already imported."""
    from wattcast.trainer.job_loading import StandaloneSpec, StandaloneTrainingJob
    from wattcast.trainer.keras_backend import load_keras
    from wattcast.trainer.pipeline import run_job
    from wattcast.trainer.progress import ProgressReporter
    from wattcast.trainer.settings import TrainerSettings

    load_keras()
    settings_, token = stack.connection.source()
    source = InfluxSource.model_validate(settings_)
    settings = TrainerSettings(min_training_days=3)
    seconds = []
    for meter in meters:
        job = StandaloneTrainingJob(
            spec=StandaloneSpec.model_validate(
                {
                    "meterId": meter,
                    "meterType": "electricity",
                    "start": START.isoformat(),
                    "end": (START + timedelta(days=DAYS)).isoformat(),
                    "model": model_spec(epochs),
                }
            )
        )
        started = time.perf_counter()
        outcome = run_job(
            job,
            settings=settings,
            source=source,
            token=SecretStr(token),
            models_dir=workdir / "pure-models",
            reporter=ProgressReporter([]),
        )
        seconds.append(time.perf_counter() - started)
        if outcome.exit_code != 0:
            raise RuntimeError(f"pure run of {meter} failed: {outcome.message}")
    return seconds


def wait_until(what: str, predicate: Any, timeout: float, poll: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise RuntimeError(f"timed out waiting for {what}")


def run_fleet(stack: LocalStack, meters: list[str], capacity: int, epochs: int) -> dict[str, Any]:
    assert stack.admin is not None
    custom = client.CustomObjectsApi(stack.admin)
    per_pod = math.ceil(len(meters) / capacity)
    body = {
        "apiVersion": constants.API_VERSION,
        "kind": constants.FLEET_KIND,
        "metadata": {"name": "bench-fleet"},
        "spec": {
            "meters": {"ids": meters},
            "meterType": "electricity",
            "start": START.isoformat().replace("+00:00", "Z"),
            "end": (START + timedelta(days=DAYS)).isoformat().replace("+00:00", "Z"),
            "model": model_spec(epochs),
            "metersPerPod": per_pod,
            "parallelism": capacity,
        },
    }
    requests_before = apiserver_requests(stack.admin)
    started = time.monotonic()
    custom.create_namespaced_custom_object(
        constants.GROUP, constants.VERSION, NAMESPACE, constants.FLEET_PLURAL, body
    )

    def finished() -> dict[str, Any] | None:
        obj = custom.get_namespaced_custom_object(
            constants.GROUP, constants.VERSION, NAMESPACE, constants.FLEET_PLURAL, "bench-fleet"
        )
        status = obj.get("status") or {}
        return status if status.get("phase") in ("Succeeded", "Failed") else None

    status = wait_until("the fleet", finished, 6 * 3600)
    wall = time.monotonic() - started
    requests = apiserver_requests(stack.admin) - requests_before
    rss = peak_rss_mb(stack.operator.pid if stack.operator else None)
    core = client.CoreV1Api(stack.admin)
    pods = core.list_namespaced_pod(
        NAMESPACE, label_selector="job-name=bench-fleet", _preload_content=False
    ).json()["items"]
    reports = []
    for pod in pods:
        for cs in pod["status"].get("containerStatuses") or []:
            message = ((cs.get("state") or {}).get("terminated") or {}).get("message")
            if message:
                reports.append(ShardReport.model_validate_json(message))
    return {
        "status": status,
        "wall": wall,
        "requests": requests,
        "rss": rss,
        "shard_wall": sum(r.wall_seconds or 0 for r in reports),
        "shard_fit": sum(r.fit_seconds or 0 for r in reports),
        "shards": len(reports),
    }


def run_trainingjobs(stack: LocalStack, meters: list[str], epochs: int) -> dict[str, Any]:
    assert stack.admin is not None
    custom = client.CustomObjectsApi(stack.admin)
    requests_before = apiserver_requests(stack.admin)
    started = time.monotonic()
    for meter in meters:
        custom.create_namespaced_custom_object(
            constants.GROUP,
            constants.VERSION,
            NAMESPACE,
            constants.PLURAL,
            {
                "apiVersion": constants.API_VERSION,
                "kind": constants.KIND,
                "metadata": {"name": f"bench-tj-{meter}"},
                "spec": {
                    "meterId": meter,
                    "meterType": "electricity",
                    "start": START.isoformat().replace("+00:00", "Z"),
                    "end": (START + timedelta(days=DAYS)).isoformat().replace("+00:00", "Z"),
                    "model": model_spec(epochs),
                },
            },
        )

    def all_finished() -> list[str] | None:
        items = custom.list_namespaced_custom_object(
            constants.GROUP, constants.VERSION, NAMESPACE, constants.PLURAL
        )["items"]
        phases = [(i.get("status") or {}).get("phase") for i in items]
        done = [p for p in phases if p in ("Succeeded", "Failed")]
        return phases if len(done) == len(meters) else None

    phases = wait_until("every TrainingJob", all_finished, 12 * 3600, poll=2.0)
    wall = time.monotonic() - started
    return {
        "wall": wall,
        "requests": apiserver_requests(stack.admin) - requests_before,
        "rss": peak_rss_mb(stack.operator.pid if stack.operator else None),
        "succeeded": phases.count("Succeeded"),
    }


def print_fleet(fleet: dict[str, Any], pure: list[float], n: int, capacity: int) -> None:
    pure_per_meter = statistics.median(pure)
    counts = fleet["status"].get("counts") or {}
    print(f"pure fit time per meter (in-process, median of {len(pure)}): {pure_per_meter:.2f} s")
    print(
        f"FleetTrainingJob: {fleet['status'].get('phase')} in {fleet['wall']:.1f} s "
        f"({counts.get('succeeded')} succeeded, {counts.get('failed')} failed, "
        f"{fleet['shards']} shard pods)"
    )
    # The pure time uses every CPU of the machine for one meter; the fleet's wall time per
    # meter is the comparable figure (its pods share those CPUs).
    print(
        f"  wall time per meter: {fleet['wall'] / n:.2f} s "
        f"({fleet['wall'] / n / pure_per_meter:.2f} x the pure fit time; goal <= 1.3)"
    )
    print(
        f"  per meter inside one shard pod: {fleet['shard_wall'] / n:.2f} s "
        f"({capacity} pods sharing the CPUs)"
    )
    print(f"  API requests: {fleet['requests']:.0f}; operator peak RSS: {fleet['rss']:.0f} MB")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000, help="synthetic meters")
    parser.add_argument("--capacity", type=int, default=2, help="pod slots of the kubelet")
    parser.add_argument("--epochs", type=int, default=20, help="spec.model.epochs")
    parser.add_argument("--pure", type=int, default=5, help="meters timed in-process")
    parser.add_argument(
        "--trainingjobs",
        type=int,
        default=None,
        help="TrainingJobs, one per meter, over the first N meters (default: every meter; "
        "0: only the fleet and the pure time); the speed-up compares time per meter",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    n = args.meters
    meters = [f"bench-{i:05d}" for i in range(n)]
    print(f"meters: {n} x {DAYS} days hourly; pod capacity {args.capacity}; epochs {args.epochs}")
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        workdir = Path(tmp)
        stack = LocalStack(
            StackOptions(
                workdir=workdir / "stack",
                capacity=args.capacity,
                pod_env={"WATTCAST_MIN_TRAINING_DAYS": "3"},
                operator_env={"WATTCAST_FLEET_SYNC_SECONDS": "2"},
                influx_flavor=1,
            )
        )
        try:
            with phase(f"writing {n} meters"):
                stack.start_influx()
                for i, meter in enumerate(meters):
                    frame = generate_meter(
                        "household", start=START, end=START + timedelta(days=DAYS), seed=i
                    )
                    stack.write_meter("electricity", meter, frame)
            with phase("starting the control plane"):
                stack.start_cluster()
            with phase("pure fit time"):
                pure = pure_fit_seconds(stack, meters[: args.pure], args.epochs, workdir)
            stack.start_operator()
            with phase("one FleetTrainingJob"):
                fleet = run_fleet(stack, meters, args.capacity, args.epochs)
            # Printed now: a run stopped during the TrainingJobs still leaves the fleet's figures.
            print_fleet(fleet, pure, n, args.capacity)
            k = n if args.trainingjobs is None else min(args.trainingjobs, n)
            if k > 0:
                stack.restart_operator(kill=False)  # a fresh peak RSS for the TrainingJobs
                with phase(f"{k} TrainingJobs"):
                    tjs = run_trainingjobs(stack, meters[:k], args.epochs)
                print(
                    f"TrainingJobs: {tjs['succeeded']} of {k} succeeded in {tjs['wall']:.1f} s "
                    f"({tjs['wall'] / k:.2f} s a meter); API requests: {tjs['requests']:.0f}; "
                    f"operator peak RSS: {tjs['rss']:.0f} MB"
                )
                speed_up = (tjs["wall"] / k) / (fleet["wall"] / n)
                per_meter_requests = (tjs["requests"] / k) / max(fleet["requests"] / n, 1e-9)
                print(f"fleet speed-up (time per meter): {speed_up:.1f} x (goal >= 5)")
                print(f"API requests per meter: {per_meter_requests:.1f} x fewer")
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
