"""The promotion gate: does a newly trained version become the meter's `current` model?

Under `spec.model.promote: gate` (the default) it does only if, on its own holdout,
1. it beats the best seasonal-naive baseline (lower MAE than every baseline), and
2. it is not worse than the current version forecasting the same holdout timestamps through
   the same forecasting path (MAE at most the current one's).
`always` promotes regardless and says so. Serving always uses `current`, so a worse model
trained on bad data never replaces a good one silently; the reason goes to the TrainingJob's
status, metadata.json, the REST API, the CLI and the dashboard.

:func:`promotion` runs the current version over the new version's holdout and scores it on the
points the new version was scored on (evaluation.py); :func:`decide` is the rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wattcast.crd import MeterType, Metrics, PromotePolicy, Resolution
from wattcast.crd.modelstore import VERSIONS, Promotion
from wattcast.forecasting.errors import TrainerError
from wattcast.forecasting.loading import ModelVersion, open_version
from wattcast.forecasting.preparation import PreparedSeries
from wattcast.trainer.evaluation import evaluate
from wattcast.trainer.holdout import holdout_forecasts
from wattcast.trainer.store import ModelStore
from wattcast.trainer.training import TrainingOutcome


def decide(
    policy: PromotePolicy,
    metrics: Metrics,
    *,
    previous_version: str | None,
    previous_mae: float | None,
    previous_note: str | None = None,
) -> Promotion:
    """The decision and its reason. `previous_mae` is the current version's MAE on the same
    holdout points (None: no current version, or not comparable; `previous_note` says why)."""
    mae = metrics.model.mae
    best_name, best = min(
        ((name, error.mae) for name, error in metrics.baselines.items()), key=lambda item: item[1]
    )
    beats_baseline = mae < best
    not_worse = previous_mae is None or mae <= previous_mae
    parts = [
        f"holdout MAE {mae:.4g} {'beats' if beats_baseline else 'does not beat'} the best "
        f"baseline {best_name} ({best:.4g})"
    ]
    if previous_version is None:
        parts.append("no current version")
    elif previous_mae is None:
        parts.append(f"current version {previous_version} not compared: {previous_note}")
    else:
        verb = "is not worse than" if not_worse else "is worse than"
        parts.append(
            f"{verb} current version {previous_version} on the same holdout ({previous_mae:.4g})"
        )
    if policy == PromotePolicy.ALWAYS:
        promoted = True
        reason = "promoted (promote: always): " + "; ".join(parts)
    else:
        promoted = beats_baseline and not_worse
        reason = ("promoted: " if promoted else "not promoted: ") + "; ".join(parts)
    return Promotion(
        policy=policy,
        promoted=promoted,
        reason=reason[:512],
        best_baseline=best_name,
        best_baseline_mae=best,
        previous_version=previous_version,
        previous_mae=previous_mae,
    )


def promotion(
    store: ModelStore,
    meter_type: MeterType,
    meter_id: str,
    *,
    policy: PromotePolicy,
    resolution: Resolution,
    raw: pd.DataFrame,
    series: PreparedSeries,
    outcome: TrainingOutcome,
) -> Promotion:
    """The gate's decision for the version `outcome` trained; the current version forecasts
    the same holdout through the same path to be compared."""
    current = store.current(meter_type, meter_id)
    previous_mae: float | None = None
    note: str | None = None
    if current is not None:
        try:
            previous = open_version(
                store.meter_dir(meter_type, meter_id) / VERSIONS / current,
                meter_type=meter_type,
                meter_id=meter_id,
            )
            if previous.predictor.resolution != resolution:
                note = f"it forecasts at {previous.predictor.resolution.value}"
            else:
                previous_mae = mae_on_same_holdout(previous, raw, series, outcome)
                if previous_mae is None:
                    note = "no holdout point in common"
        except (TrainerError, ValueError, OSError) as error:
            note = f"it could not be read or run ({str(error)[:160]})"
    return decide(
        policy,
        outcome.metrics,
        previous_version=current,
        previous_mae=previous_mae,
        previous_note=note,
    )


def mae_on_same_holdout(
    previous: ModelVersion, raw: pd.DataFrame, series: PreparedSeries, outcome: TrainingOutcome
) -> float | None:
    """The MAE of `previous` on the holdout points `outcome` was scored on (None: none left)."""
    holdout = outcome.holdout
    split = int(holdout.positions[0])
    theirs = holdout_forecasts(previous.predictor, raw, series, split)
    by_position = dict(zip(theirs.positions.tolist(), theirs.forecast.tolist(), strict=True))
    forecast = np.array([by_position.get(p, np.nan) for p in holdout.positions.tolist()])
    common = outcome.scored & np.isin(holdout.positions, theirs.positions)
    if not common.any():
        return None
    actual = series.frame["consumption"].to_numpy(dtype=np.float64)[holdout.positions]
    return evaluate(actual, {"current": forecast}, mask=common).scores["current"].mae
