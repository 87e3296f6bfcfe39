"""The trainer's default model against strong peers, on real and synthetic meters (issue 15).

Protocol, the trainer's own: one fit on everything before the holdout (the last 14 days, from
the first midnight-UTC origin in them), then a day-ahead forecast from every midnight of the
holdout with the data up to that origin only. Every method is scored on the same points: the
trainer's scored holdout points (valid observed points) where every peer has a forecast.

- **wattcast**: the trainer's `train()` with the default spec, seeds 0, 1 and 2 (the holdout
  forecasts are the forecasting path's, as served: clipped at zero where consumption cannot be
  negative). Its MAE is the mean over the seeds; the seed spread is (max - min) / mean.
- **AutoETS, MSTL, AutoTheta** (statsforecast): fitted once on the training part, then updated
  with the actuals at each origin (`cross_validation(refit=False)`, h = step = one day) on the
  cleaned series (gaps interpolated: they need a complete series). Seasons: a day (ETS, Theta);
  a day and a week (MSTL).
- **LightGBM**: a direct day-ahead model, one for all horizons of the day, on the practitioners'
  features taken from the trainer's feature rows: lags of a day or more as far as known (one
  day, one and two weeks back), rolling means (the last day, the lookback week, their change
  against a week earlier, the last point's deviation), calendar in local time (daily and annual
  harmonics, weekday), holidays, temperature where present, the horizon; not the trainer's
  smoothed profiles or its double-seasonal anchor. Targets scaled like the trainer's; 600
  trees at most, learning rate 0.05, early stopping on the last 15 % of the training rows.

Series:

- ``taylor`` (real): half-hourly electricity demand of England and Wales, Monday 5 June to
  Sunday 27 August 2000, 4,032 points (MW), as bundled in pmdarima (`load_taylor`). From J. W.
  Taylor (2003), *Short-term electricity demand forecasting using double seasonal exponential
  smoothing*, J. Oper. Res. Soc. 54, 799-805; published with R's forecast package (GPL-3) and
  pmdarima (MIT). It is read from the installed dev dependency at run time, never copied into
  this repository. No temperature; holidays: none in the range.
- synthetic meters (wattcast.devtools.testbed.synthetic, seed 1): ``household`` hourly, a
  year; ``smartmeter30`` a household at 30 minutes with temperature, 26 weeks; ``regional``
  hourly, a year; ``water`` hourly, a year (many zero hours: forecasts must never be negative).

Windows: with ``--windows K`` every series is also cut short by 14, 28, ... days, K holdouts
in all, each the 14 days before its cut (``taylor@-14d``: the data end two weeks earlier; what
follows the cut is never seen). One window is one stretch of weather and holidays (the regional
meter's last is Christmas); several tell a method that generalises from one that suited a
fortnight.

Prints per series and window each method's MAE, wattcast's ratio to the best peer and to every
peer, the seed spread and the fit seconds, then per series the mean and the worst ratio over
the windows. Exits 1 if wattcast is above 1.0x the best peer on any series and window.

    .venv/bin/python benchmarks/bench_trainer_vs_peers.py [--series taylor,household,...]
        [--seeds 0,1,2] [--windows 1] [--no-temperature]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from wattcast.crd import MeterType, ModelSpec, Resolution
from wattcast.devtools.testbed.synthetic import generate_meter
from wattcast.forecasting.features.building import ANCHORS, build_features
from wattcast.forecasting.features.configuration import FeatureConfig
from wattcast.forecasting.preparation import PreparedSeries, prepare
from wattcast.trainer.ensembling import CANDIDATES
from wattcast.trainer.evaluation import evaluate
from wattcast.trainer.fitting import validation_split
from wattcast.trainer.holdout import holdout_start
from wattcast.trainer.keras_backend import load_keras
from wattcast.trainer.training import train

HOLDOUT_DAYS = 14
PEERS = ("AutoETS", "MSTL", "AutoTheta", "LightGBM")
# The trainer's own smoothed anchors, which the LightGBM peer does not get.
SMOOTHED_ANCHORS = {name for name in ANCHORS if name.startswith(("profile", "double"))}


@dataclass(frozen=True)
class Meter:
    name: str
    raw: pd.DataFrame
    resolution: Resolution
    meter_type: MeterType
    timezone: str
    holidays: str


def taylor() -> Meter:
    from pmdarima.datasets import load_taylor

    values = load_taylor(as_series=False)
    index = pd.date_range("2000-06-05T00:00:00Z", periods=len(values), freq="30min", name="time")
    raw = pd.DataFrame({"consumption": np.asarray(values, dtype=np.float64)}, index=index)
    return Meter("taylor", raw, Resolution.MIN_30, MeterType.ELECTRICITY, "Europe/London", "none")


def synthetic(name: str) -> Meter:
    start = datetime(2023, 1, 2, tzinfo=UTC)
    if name == "smartmeter30":
        raw = generate_meter(
            "household", start=start, end=start + pd.Timedelta(weeks=26), freq="30min", seed=1
        )
        return Meter(name, raw, Resolution.MIN_30, MeterType.ELECTRICITY, "Europe/Berlin", "DE")
    raw = generate_meter(name, start=start, end=datetime(2024, 1, 1, tzinfo=UTC), seed=1)
    meter_type = MeterType.WATER if name == "water" else MeterType.ELECTRICITY
    return Meter(name, raw, Resolution.HOUR_1, meter_type, "Europe/Berlin", "DE")


def load(name: str) -> Meter:
    return taylor() if name == "taylor" else synthetic(name)


def cut_short(meter: Meter, days: int) -> Meter:
    """The meter with its last `days` days removed (a holdout that many days earlier)."""
    end = meter.raw.index[-1] - pd.Timedelta(days=days)
    return dataclasses.replace(meter, raw=meter.raw.loc[:end])


def prepared(meter: Meter) -> PreparedSeries:
    freq = pd.Timedelta(minutes=meter.resolution.minutes)
    index = meter.raw.index
    return prepare(
        meter.raw,
        start=index[0].floor(freq),
        end=index[-1].floor(freq) + freq,
        freq=freq,
        meter_type=meter.meter_type,
        max_gap_hours=6,
        min_days=14,
    )


def statistical(
    series: PreparedSeries, split: int, days: int
) -> dict[str, tuple[np.ndarray, float]]:
    """Day-ahead forecasts of the statsforecast peers over `days` days from `split`."""
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS, AutoTheta

    per_day = series.steps_per_day
    filled = series.frame["consumption"].where(series.frame["valid"])
    filled = filled.interpolate(limit_direction="both")
    frame = pd.DataFrame(
        {"unique_id": "meter", "ds": filled.index.tz_localize(None), "y": filled.to_numpy()}
    ).iloc[: split + days * per_day]
    freq = "30min" if per_day == 48 else ("15min" if per_day == 96 else "h")
    models = {
        "AutoETS": AutoETS(season_length=min(per_day, 24) if per_day <= 24 else 1),
        "MSTL": MSTL(season_length=[per_day, 7 * per_day]),
        "AutoTheta": AutoTheta(season_length=per_day),
    }
    out = {}
    for name, model in models.items():
        started = time.perf_counter()
        engine = StatsForecast(models=[model], freq=freq, n_jobs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cv = engine.cross_validation(
                df=frame, h=per_day, step_size=per_day, n_windows=days, refit=False
            )
        column = next(c for c in cv.columns if c not in ("unique_id", "ds", "cutoff", "y"))
        out[name] = (cv[column].to_numpy(dtype=np.float64), time.perf_counter() - started)
    return out


def lightgbm_forecast(
    series: PreparedSeries, config: FeatureConfig, split: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """The direct LightGBM's holdout forecasts (positions, values) and its fit seconds."""
    import lightgbm as lgb

    features = build_features(series, config, scale_until=split)
    keep = [i for i, n in enumerate(features.feature_names) if n not in SMOOTHED_ANCHORS]
    matrix = features.features[:, keep]
    before = features.positions < split
    rows = np.flatnonzero(before & np.isfinite(features.target))
    fit_rows, val_rows = validation_split(rows, config.steps_per_day)
    started = time.perf_counter()
    model = lgb.LGBMRegressor(
        n_estimators=600,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=20,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        n_jobs=2,
        verbose=-1,
        random_state=0,
    )
    model.fit(
        matrix[fit_rows],
        features.target[fit_rows],
        eval_X=matrix[val_rows],
        eval_y=features.target[val_rows],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    seconds = time.perf_counter() - started
    holdout = np.flatnonzero(~before)
    predicted = model.predict(matrix[holdout]) * features.scale
    return features.positions[holdout], np.asarray(predicted, dtype=np.float64), seconds


def run_series(meter: Meter, seeds: list[int], use_temperature: bool) -> dict[str, object]:
    series = prepared(meter)
    per_day = series.steps_per_day
    config = FeatureConfig.from_spec(
        ModelSpec(resolution=meter.resolution),
        per_day,
        timezone=meter.timezone,
        holidays=meter.holidays,
    )
    split = holdout_start(series, HOLDOUT_DAYS, config.horizon)
    ours: list[np.ndarray] = []
    seconds: list[float] = []
    scored = positions = None
    negatives = 0
    weights: list[tuple[float, ...]] = []
    for seed in seeds:
        spec = ModelSpec(
            resolution=meter.resolution,
            holdout_days=HOLDOUT_DAYS,
            seed=seed,
            use_temperature=use_temperature,
        )
        started = time.perf_counter()
        ours_config = FeatureConfig.from_spec(
            spec, per_day, timezone=meter.timezone, holidays=meter.holidays
        )
        outcome = train(series, spec, ours_config, raw=meter.raw, meter_type=meter.meter_type)
        seconds.append(time.perf_counter() - started)
        positions, scored = outcome.holdout.positions, outcome.scored
        combination = getattr(outcome, "combination", None)  # None: an older trainer
        if combination is not None:
            weights.append(combination.weights)
        ours.append(outcome.holdout.forecast)
        negatives += (
            int((outcome.holdout.forecast < 0).sum()) if outcome.predictor.non_negative else 0
        )
    assert positions is not None and scored is not None
    days = len(positions) // per_day
    forecasts: dict[str, np.ndarray] = {}
    fit_seconds: dict[str, float] = {"wattcast": float(np.mean(seconds))}
    for name, (values, took) in statistical(series, split, days).items():
        full = np.full(len(positions), np.nan)
        full[: len(values)] = values
        forecasts[name] = full
        fit_seconds[name] = took
    lgb_positions, lgb_values, took = lightgbm_forecast(series, config, split)
    by_position = dict(zip(lgb_positions.tolist(), lgb_values.tolist(), strict=True))
    forecasts["LightGBM"] = np.array([by_position.get(p, np.nan) for p in positions.tolist()])
    fit_seconds["LightGBM"] = took
    actual = series.frame["consumption"].to_numpy(dtype=np.float64)[positions]
    mask = scored.copy()
    for values in forecasts.values():
        mask &= np.isfinite(values)
    per_seed = [evaluate(actual, {"m": f}, mask=mask).scores["m"].mae for f in ours]
    peers = {
        name: evaluate(actual, {"p": f}, mask=mask).scores["p"].mae for name, f in forecasts.items()
    }
    mae = float(np.mean(per_seed))
    return {
        "mae": mae,
        "per_seed": per_seed,
        "spread": (max(per_seed) - min(per_seed)) / mae,
        "peers": peers,
        "seconds": fit_seconds,
        "points": int(mask.sum()),
        "negatives": negatives,
        "weights": weights,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", default="taylor,household,smartmeter30,regional,water")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--windows", type=int, default=1, help="holdouts per series, 14 days apart (default 1)"
    )
    parser.add_argument(
        "--no-temperature", action="store_true", help="train wattcast without temperature"
    )
    args = parser.parse_args()
    _, import_seconds = load_keras()
    print(f"TensorFlow/Keras import: {import_seconds:.1f} s (CPUs: {os.cpu_count()})")
    seeds = [int(s) for s in args.seeds.split(",")]
    header = f"{'series':<14}{'wattcast':>10}" + "".join(f"{p:>11}" for p in PEERS)
    print(header + f"{'vs best':>9}{'spread':>8}   fit s (wattcast/ETS/MSTL/Theta/LGBM)")
    losses = 0
    for name in args.series.split(","):
        ratios = []
        whole = load(name)
        for window in range(args.windows):
            cut = window * HOLDOUT_DAYS
            meter = cut_short(whole, cut)
            label = f"{name}@-{cut}d" if cut else name
            r = run_series(meter, seeds, not args.no_temperature)
            peers: dict[str, float] = r["peers"]  # type: ignore[assignment]
            ratio = r["mae"] / min(peers.values())  # type: ignore[operator]
            ratios.append(ratio)
            losses += ratio > 1.0
            secs: dict[str, float] = r["seconds"]  # type: ignore[assignment]
            print(
                f"{label:<14}{r['mae']:>10.4g}"
                + "".join(f"{peers[p]:>11.4g}" for p in PEERS)
                + f"{ratio:>9.3f}{100 * r['spread']:>7.1f}%   "  # type: ignore[operator]
                + "/".join(f"{secs[k]:.1f}" for k in ("wattcast", *PEERS))
                + f"  (seeds {', '.join(f'{v:.4g}' for v in r['per_seed'])}; {r['points']} points"  # type: ignore[attr-defined]
                + f"; negative forecasts {r['negatives']}; weights {'/'.join(CANDIDATES)} "
                + " ".join("/".join(f"{w:.2f}" for w in ws) for ws in r["weights"])  # type: ignore[attr-defined]
                + ")",
                flush=True,
            )
        if len(ratios) > 1:
            print(
                f"{name:<14}over {len(ratios)} windows: mean ratio {np.mean(ratios):.3f}, "
                f"worst {max(ratios):.3f}",
                flush=True,
            )
    return 1 if losses else 0


if __name__ == "__main__":
    sys.exit(main())
