"""Accuracy of the trainer's model against the baselines on hard synthetic meters (issue 5).

For each profile and seed: one meter-year of hourly readings (gaps, outliers, level shifts,
weather, holidays; electricity meters with even seeds also carry solar export, i.e. negatives)
is prepared exactly as the trainer does, the model is fitted once, and every method forecasts
the same 14 holdout days day-ahead (origins at midnight UTC, information up to the origin):

- model: the trainer's default (seasonal-residual) or `--model lstm`;
- naiveDaily y(t-24h), naiveWeekly y(t-168h);
- mstl: statsforecast's MSTL (seasons 24 h and 168 h), fitted once on the same training
  part and rolled forward day by day (cross_validation with refit=False, h=24, step 24) over
  the cleaned series (gaps interpolated, since MSTL needs a complete series).

MAE is measured on the timestamps the trainer scores (valid observed points, outliers and gaps
excluded). Prints one line per meter and a summary; exits 1 if the model does
not beat every baseline on every meter (so `make bench` shows a regression).

    .venv/bin/python benchmarks/bench_trainer_accuracy.py [--profiles household,...]
        [--seeds 1,2,3] [--model seasonal-residual|lstm] [--no-temperature]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from wattcast.crd import MeterType, ModelSpec, ModelType
from wattcast.devtools.testbed.synthetic import generate_meter
from wattcast.forecasting.baselines import seasonal_naive_baselines
from wattcast.forecasting.features.building import build_features
from wattcast.forecasting.features.configuration import FeatureConfig
from wattcast.forecasting.forecasters import KerasForecaster
from wattcast.forecasting.preparation import prepare
from wattcast.trainer.evaluation import evaluate
from wattcast.trainer.holdout import holdout_start
from wattcast.trainer.keras_backend import load_keras
from wattcast.trainer.training import train

START = datetime(2023, 1, 2, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)
HOLDOUT_DAYS = 14


def mstl_forecast(series: pd.Series, split: int, days: int) -> np.ndarray:
    """Day-ahead MSTL forecasts for the `days` days from position `split` (one fit)."""
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL

    frame = pd.DataFrame(
        {"unique_id": "meter", "ds": series.index.tz_localize(None), "y": series.to_numpy()}
    )
    engine = StatsForecast(models=[MSTL(season_length=[24, 168])], freq="h", n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = engine.cross_validation(
            df=frame.iloc[: split + days * 24], h=24, step_size=24, n_windows=days, refit=False
        )
    return cv["MSTL"].to_numpy(dtype=np.float64)


def run_meter(
    profile: str, seed: int, model_type: ModelType, use_temperature: bool = True
) -> dict[str, float]:
    negatives = profile != "water" and seed % 2 == 0
    raw = generate_meter(profile, start=START, end=END, seed=seed, negatives=negatives)
    meter_type = MeterType.WATER if profile == "water" else MeterType.ELECTRICITY
    series = prepare(
        raw,
        start=pd.Timestamp(START),
        end=pd.Timestamp(END),
        freq=pd.Timedelta(hours=1),
        meter_type=meter_type,
        max_gap_hours=6,
        min_days=14,
    )
    spec = ModelSpec(type=model_type, holdout_days=HOLDOUT_DAYS, use_temperature=use_temperature)
    config = FeatureConfig.from_spec(spec, 24, timezone="Europe/Berlin", holidays="DE")
    started = time.perf_counter()
    outcome = train(series, spec, config)
    seconds = time.perf_counter() - started

    split = holdout_start(series, HOLDOUT_DAYS, config.horizon)
    features = build_features(series, config, scale_until=split)
    rows = np.flatnonzero(features.positions >= split)
    positions = features.positions[rows]
    forecasts = {"model": KerasForecaster(outcome.model, spec.type).predict(features)[rows]}
    for name, baseline in seasonal_naive_baselines(config.steps_per_day).items():
        forecasts[name] = baseline.predict(features)[rows]
    filled = series.frame["consumption"].interpolate(limit_direction="both")
    days = len(positions) // 24
    mstl = mstl_forecast(filled, split, days)
    forecasts["mstl"] = np.full(len(positions), np.nan)
    forecasts["mstl"][: len(mstl)] = mstl
    actual = series.frame["consumption"].to_numpy()[positions]
    valid = series.frame["valid"].to_numpy(dtype=bool)[positions]
    evaluation = evaluate(actual, forecasts, valid=valid)
    result = {"seconds": seconds, "points": float(evaluation.points)}
    for name, scores in evaluation.scores.items():
        result[name] = scores.mae
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", default="household,commercial,regional,water")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--model", default=ModelType.SEASONAL_RESIDUAL.value)
    parser.add_argument(
        "--no-temperature", action="store_true", help="as for a meter without temperature"
    )
    args = parser.parse_args()
    _, import_seconds = load_keras()
    print(f"TensorFlow/Keras import: {import_seconds:.1f} s (CPUs: {os.cpu_count()})")
    baselines = ("naiveDaily", "naiveWeekly", "mstl")
    header = f"{'meter':<16}{'model':>10}" + "".join(f"{b:>12}" for b in baselines)
    print(header + f"{'vs best':>9}{'fit s':>7}   (MAE; vs best < 1 means the model wins)")
    ratios, losses = [], 0
    for profile in args.profiles.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            r = run_meter(profile, seed, ModelType(args.model), not args.no_temperature)
            best = min(r[b] for b in baselines)
            ratio = r["model"] / best
            ratios.append(ratio)
            losses += ratio >= 1.0
            name = f"{profile}/{seed}"
            print(
                f"{name:<16}{r['model']:>10.4g}"
                + "".join(f"{r[b]:>12.4g}" for b in baselines)
                + f"{ratio:>9.3f}{r['seconds']:>7.1f}",
                flush=True,
            )
    print(
        f"model MAE / best baseline MAE: mean {np.mean(ratios):.3f}, worst {max(ratios):.3f}; "
        f"meters where a baseline wins: {losses} of {len(ratios)}"
    )
    return 1 if losses else 0


if __name__ == "__main__":
    sys.exit(main())
