"""Peak resident memory of one trainer run: what the chart's trainer.resources are sized from.

Writes a synthetic meter (hourly, with temperature) to a throw-away influxd, then runs the
`wattcast-trainer` console script standalone, as a trainer pod runs it (one process: data
pull, preparation, fit, holdout scoring, save), once per model type, and prints each run's
peak RSS (the child's ru_maxrss) and wall time.

    .venv/bin/python benchmarks/bench_trainer_peak_rss.py [--years 1] [--models lstm]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from wattcast.devtools.processes import bin_path
from wattcast.devtools.testbed.influx import InfluxServer, write_meter
from wattcast.devtools.testbed.synthetic import generate_meter

START = datetime(2023, 1, 1, tzinfo=UTC)


def run_once(server_url: str, model: str, end: datetime, workdir: Path) -> tuple[float, float]:
    """One standalone trainer process; (peak RSS in MiB, wall seconds)."""
    spec = {
        "apiVersion": "wattcast.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": f"rss-{model}"},
        "spec": {
            "meterId": "meter-rss",
            "meterType": "electricity",
            "start": START.isoformat().replace("+00:00", "Z"),
            "end": end.isoformat().replace("+00:00", "Z"),
            "source": {"url": server_url, "dialect": "influxql", "database": "bench"},
            "model": {"type": model},
        },
    }
    spec_file = workdir / f"{model}.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    log = workdir / f"{model}.log"
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                bin_path("wattcast-trainer"),
                "--spec",
                str(spec_file),
                "--models-dir",
                str(workdir / "models"),
                "--termination-log",
                str(workdir / f"{model}.json"),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "WATTCAST_LOG_FORMAT": "plain"},
        )
        # wait4: this child's own rusage (ru_maxrss in KiB on Linux).
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{model}: exit {process.returncode}\n{log.read_text()[-2000:]}")
    peak = usage.ru_maxrss
    return peak / 1024, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=int, default=1, help="years of hourly data (1-10)")
    parser.add_argument("--models", nargs="+", default=["seasonal-residual", "lstm"])
    args = parser.parse_args()
    end = START.replace(year=START.year + args.years)
    frame = generate_meter("household", start=START, end=end, seed=7)
    with InfluxServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.create_database("bench")
        write_meter(server.url, "bench", "electricity", "meter-rss", frame)
        print(f"{len(frame)} hourly points ({args.years} year(s)), one trainer process each:")
        for model in args.models:
            peak, wall = run_once(server.url, model, end, Path(tmp))
            print(f"  {model}: peak RSS {peak:.0f} MiB, {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
