"""Benchmark: forecasts from saved models, Keras on its numpy backend beside the TensorFlow path.

    .venv/bin/python benchmarks/bench_forecasts.py [--meters 1000] [--requests 200]

Set-up (not timed): a private InfluxDB 1.6 of the test bed, `--meters` synthetic household
meters (six weeks, hourly) written to it, one model trained by the real `wattcast-trainer`
(its own process) and its version copied to every meter (metadata re-labelled), so each meter
has a current model of the real size.

Then, once per backend (numpy: the API image; tensorflow: the trainer image), in a fresh
process with KERAS_BACKEND set:
- import + first model load, and the load of each further model;
- p50/p99 of a REST forecast (`GET /v1/forecasts/...`, a real uvicorn on loopback, the
  InfluxDB read included; models cached as the API does);
- forecasts per second on 2 cores (two processes pinned to two CPUs, each its own meters,
  models loaded beforehand; InfluxDB read included);
- the wall time of `wattcast-forecast --all --write-back` over every meter (process start,
  imports and model loads included).
Plus the install size of each backend's packages in this virtual environment.
Prints figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 42
TOKEN = "bench-" + uuid.uuid4().hex


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def package_size(names: list[str]) -> float:
    """MiB on disk of the installed packages (their RECORD files)."""
    total = 0
    for name in names:
        try:
            dist = importlib_metadata.distribution(name)
        except importlib_metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                total += path.stat().st_size
    return total / 2**20


# --- set-up ---------------------------------------------------------------------------------


def set_up(influx_url: str, database: str, work: Path, meters: int) -> Path:
    import yaml

    from wattcast.devtools.testbed.influx import write_meter
    from wattcast.devtools.testbed.synthetic import simulate_meter

    end = START + timedelta(days=DAYS)
    for i in range(meters):
        meter = simulate_meter("household", start=START, end=end, seed=100 + i, outliers=False)
        frame = meter.observed.drop(columns=["temperature"], errors="ignore")
        write_meter(influx_url, database, "electricity", f"bench-{i}", frame)
    spec = {
        "apiVersion": "wattcast.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": "bench-forecasts"},
        "spec": {
            "meterId": "bench-0",
            "meterType": "electricity",
            "start": START.isoformat(),
            "end": end.isoformat(),
            "source": {"url": influx_url, "dialect": "influxql", "database": database},
            "model": {"holdoutDays": 7, "epochs": 5, "useTemperature": False},
        },
    }
    (work / "tj.yaml").write_text(yaml.safe_dump(spec))
    models = work / "models"
    subprocess.run(
        [
            str(BIN / "wattcast-trainer"), "--spec", str(work / "tj.yaml"), "--models-dir",
            str(models), "--termination-log", str(work / "term"), "--no-progress",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    source = (models / "electricity" / "bench-0" / "current").resolve()
    for i in range(1, meters):
        meter_dir = models / "electricity" / f"bench-{i}"
        target = meter_dir / "versions" / source.name
        shutil.copytree(source, target)
        meta = json.loads((target / "metadata.json").read_text())
        meta["meter"]["id"] = f"bench-{i}"
        (target / "metadata.json").write_text(json.dumps(meta))
        (meter_dir / "current").symlink_to(Path("versions") / source.name)
    return models


# --- one backend, in its own process ---------------------------------------------------------


def _source(args: argparse.Namespace) -> Any:
    from wattcast.forecasting.influx.influxql import InfluxQLSource

    return InfluxQLSource(url=args.influx, database=args.database, token=None, timeout=60)


def _origin() -> datetime:
    return START + timedelta(days=DAYS)


def _rate_worker(args: argparse.Namespace, cpu: int, meters: list[int], seconds: float) -> None:
    os.sched_setaffinity(0, {cpu})
    from wattcast.crd import MeterType
    from wattcast.forecasting.loading import open_current
    from wattcast.forecasting.serving import forecast

    source = _source(args)
    versions = [open_current(args.models, MeterType.ELECTRICITY, f"bench-{i}") for i in meters]
    forecast(versions[0], source, origin=_origin())  # warm
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        forecast(versions[done % len(versions)], source, origin=_origin())
        done += 1
    print(json.dumps({"done": done, "seconds": time.perf_counter() - started}))


def child(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from wattcast.api.core.config import Settings, get_settings
    from wattcast.api.dashboard.settings import DashboardSettings, get_dashboard_settings
    from wattcast.api.main import create_app
    from wattcast.crd import MeterType
    from wattcast.devtools.serving import ServedApp
    from wattcast.forecasting.forecasters import keras_for_serving
    from wattcast.forecasting.loading import open_current

    out: dict[str, Any] = {}
    started = time.perf_counter()
    keras, _ = keras_for_serving()
    open_current(args.models, MeterType.ELECTRICITY, "bench-0")
    out["import_and_first_load_s"] = time.perf_counter() - started
    out["keras_backend"] = keras.backend.backend()
    loads = []
    for i in range(1, min(args.meters, 11)):
        t = time.perf_counter()
        open_current(args.models, MeterType.ELECTRICITY, f"bench-{i}")
        loads.append(time.perf_counter() - t)
    out["model_load_ms"] = 1000 * statistics.median(loads) if loads else float("nan")

    kubeconfig = Path(args.work) / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "
        "'http://127.0.0.1:9'}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, "
        "context: {cluster: c, user: u}}]\ncurrent-context: c\n"
    )
    os.environ.update(
        {"INFLUX_URL": args.influx, "INFLUX_DIALECT": "influxql", "INFLUX_DATABASE": args.database}
    )
    app = create_app()
    settings = Settings(api_tokens=TOKEN, api_kubeconfig=kubeconfig)
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_dashboard_settings] = lambda: DashboardSettings(
        models_dir=Path(args.models)
    )
    served = ServedApp(app).start()
    meters = list(range(min(args.meters, 20)))
    latencies = []
    try:
        with httpx.Client(
            base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        ) as http:
            origin = _origin().isoformat()
            for i in meters:  # warm the model cache
                http.get(f"/v1/forecasts/electricity/bench-{i}", params={"origin": origin})
            for n in range(args.requests):
                t = time.perf_counter()
                response = http.get(
                    f"/v1/forecasts/electricity/bench-{meters[n % len(meters)]}",
                    params={"origin": origin},
                )
                latencies.append(time.perf_counter() - t)
                response.raise_for_status()
    finally:
        served.stop()
    out["rest_p50_ms"] = 1000 * percentile(latencies, 0.5)
    out["rest_p99_ms"] = 1000 * percentile(latencies, 0.99)

    cpus = sorted(os.sched_getaffinity(0))[:2]
    half = max(1, len(meters) // 2)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--rate-worker",
                str(cpu),
                "--influx",
                args.influx,
                "--database",
                args.database,
                "--models",
                args.models,
                "--work",
                args.work,
                "--meters",
                str(args.meters),
                "--slice",
                ",".join(map(str, part)),
            ],
            stdout=subprocess.PIPE,
            env=os.environ.copy(),
        )
        for cpu, part in zip(cpus, (meters[:half], meters[half:] or meters[:half]), strict=False)
    ]
    rates = []
    for worker in workers:
        stdout, _ = worker.communicate(timeout=900)
        result = json.loads(stdout.decode().strip().splitlines()[-1])
        rates.append(result["done"] / result["seconds"])
    out["forecasts_per_s_2_cores"] = sum(rates)

    env = {**os.environ}
    t = time.perf_counter()
    done = subprocess.run(
        [
            str(BIN / "wattcast-forecast"), "--models-dir", args.models, "--all", "--origin",
            _origin().isoformat(), "--write-back",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    out["all_write_back_s"] = time.perf_counter() - t
    out["all_write_back_ok"] = done.returncode == 0
    out["all_write_back_tail"] = (
        done.stdout.strip().splitlines()[-1:] + done.stderr.strip().splitlines()[-2:]
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rate-seconds", type=float, default=20.0)
    parser.add_argument("--backends", default="numpy,tensorflow")
    parser.add_argument("--child", default=None)
    parser.add_argument("--rate-worker", type=int, default=None)
    parser.add_argument("--slice", default="")
    parser.add_argument("--influx", default="")
    parser.add_argument("--database", default="")
    parser.add_argument("--models", default="")
    parser.add_argument("--work", default="")
    args = parser.parse_args()
    if args.rate_worker is not None:
        meters = [int(x) for x in args.slice.split(",") if x]
        _rate_worker(args, args.rate_worker, meters, float(os.environ["BENCH_RATE_SECONDS"]))
        return 0
    if args.child is not None:
        print(json.dumps(child(args)))
        return 0

    from wattcast.devtools.testbed.influx import InfluxServer

    with tempfile.TemporaryDirectory(prefix="bench-forecasts-") as tmp, InfluxServer() as server:
        work = Path(tmp)
        database = server.create_database("bench_forecasts")
        started = time.perf_counter()
        models = set_up(server.url, database, work, args.meters)
        print(f"set-up: {args.meters} meters and one trained model in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        for backend in args.backends.split(","):
            env = {
                **os.environ,
                "KERAS_BACKEND": backend,
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "BENCH_RATE_SECONDS": str(args.rate_seconds),
            }
            done = subprocess.run(
                [
                    sys.executable, __file__, "--child", backend, "--influx", server.url,
                    "--database", database, "--models", str(models), "--work", tmp,
                    "--meters", str(args.meters), "--requests", str(args.requests),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )  # fmt: skip
            if done.returncode != 0:
                print(f"{backend}: failed\n{done.stderr[-2000:]}")
                continue
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"\n{backend} backend (Keras reports {figures['keras_backend']}):")
            print(f"  import + first model load     {figures['import_and_first_load_s']:8.2f} s")
            print(f"  each further model load       {figures['model_load_ms']:8.1f} ms")
            print(f"  REST forecast p50 / p99       {figures['rest_p50_ms']:8.1f} / "
                  f"{figures['rest_p99_ms']:.1f} ms  ({args.requests} requests, InfluxDB read "
                  "included)")  # fmt: skip
            print(f"  forecasts per second, 2 cores {figures['forecasts_per_s_2_cores']:8.1f}")
            print(
                f"  --all --write-back, {args.meters} meters {figures['all_write_back_s']:8.1f} s"
                f"  (ok: {figures['all_write_back_ok']}; {figures['all_write_back_tail']})"
            )
    numpy_side = ["keras", "jax", "jaxlib", "scipy", "h5py", "ml-dtypes", "optree", "namex",
                  "opt-einsum", "absl-py"]  # fmt: skip
    tf_side = [*numpy_side, "tensorflow-cpu", "tensorboard", "grpcio", "protobuf"]
    print(
        f"\ninstall size: numpy backend (keras + jax + deps) {package_size(numpy_side):.0f} MiB; "
        f"TensorFlow path (keras + tensorflow-cpu + deps) "
        f"{package_size([n for n in tf_side if n not in ('jax', 'jaxlib')]):.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
