"""The promotion gate: does a newly trained version become the meter's `current` model?

Under `spec.model.promote: gate` (the default) it does only if, on its own holdout,
1. it beats the best seasonal-naive baseline (lower MAE than every baseline), and
2. it is not worse than the current version forecasting the same holdout timestamps through
   the same forecasting path (MAE at most the current one's).
`always` promotes regardless and says so. Serving always uses `current`, so a worse model
trained on bad data never replaces a good one silently; the reason goes to the TrainingJob's
status, metadata.json, the REST API, the CLI and the dashboard.
"""

from __future__ import annotations

from wattcast.crd import Metrics, PromotePolicy
from wattcast.crd.modelstore import Promotion


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
