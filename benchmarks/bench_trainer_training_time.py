"""Training time of one meter-year of hourly data, end to end (issue 5, benchmark 2).

Writes a synthetic meter-year (hourly, with temperature) to a throw-away influxd, then runs the
trainer's whole job in this process with the default model spec: data pull over InfluxQL,
preparation, fit (early stopping, at most 20 epochs), holdout scoring, save and load-back
verification. TensorFlow's import is timed apart (it is paid once per pod). Goal: the job,
data pull included, in at most 60 s on 2 cores.

    .venv/bin/python benchmarks/bench_trainer_training_time.py [--profile regional] [--model lstm]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from wattcast.crd import InfluxDialect, InfluxSource, ModelSpec, ModelType
from wattcast.devtools.testbed.influx import InfluxServer, write_meter
from wattcast.devtools.testbed.synthetic import generate_meter
from wattcast.trainer.job_loading import StandaloneSpec, StandaloneTrainingJob
from wattcast.trainer.keras_backend import load_keras, usable_cpus
from wattcast.trainer.pipeline import run_job
from wattcast.trainer.progress import ProgressReporter
from wattcast.trainer.settings import TrainerSettings

START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="household")
    parser.add_argument("--model", default=ModelType.SEASONAL_RESIDUAL.value)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    meter_type = "water" if args.profile == "water" else "electricity"
    frame = generate_meter(args.profile, start=START, end=END, seed=7)
    _, import_seconds = load_keras()
    print(f"TensorFlow/Keras import: {import_seconds:.1f} s; usable CPUs: {usable_cpus()}")
    with InfluxServer() as server, tempfile.TemporaryDirectory() as models:
        server.create_database("bench")
        write_meter(server.url, "bench", meter_type, "year-1", frame)
        source = InfluxSource(url=server.url, dialect=InfluxDialect.INFLUXQL, database="bench")
        job = StandaloneTrainingJob(
            spec=StandaloneSpec(
                meter_id="year-1",
                meter_type=meter_type,
                start=START,
                end=END,
                source=source,
                model=ModelSpec(type=ModelType(args.model)),
            )
        )
        started = time.perf_counter()
        outcome = run_job(
            job,
            settings=TrainerSettings(),
            source=source,
            token=None,
            models_dir=Path(models),
            reporter=ProgressReporter([]),
        )
        total = time.perf_counter() - started
        if outcome.exit_code != 0:
            print(f"failed: {outcome.message.reason}: {outcome.message.message}")
            return 1
        result = outcome.message.result
        assert result is not None and result.metrics is not None
        meta = json.loads((Path(models) / result.model_path).with_name("metadata.json").read_text())
        timings = meta["timings"]
        print(
            f"{args.profile} meter-year, {result.data_points} points, {meta['epochsRun']} epochs "
            f"({args.model}): job {total:.1f} s = data pull {timings['dataPullSeconds']:.2f} s "
            f"+ fit {timings['fitSeconds']:.1f} s + preparation, scoring and saving "
            f"{total - timings['dataPullSeconds'] - timings['fitSeconds']:.1f} s"
        )
        metrics = result.metrics
        print(
            f"holdout MAE {metrics.model.mae:.4g} vs naiveDaily "
            f"{metrics.baselines['naiveDaily'].mae:.4g}, naiveWeekly "
            f"{metrics.baselines['naiveWeekly'].mae:.4g}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
