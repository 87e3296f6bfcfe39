"""The promotion gate's decisions and reasons, and the prediction interval per horizon step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wattcast.crd import ErrorMetrics, Holdout, MeterType, Metrics, PromotePolicy
from wattcast.trainer.holdout import MIN_INTERVAL_RESIDUALS, prediction_interval
from wattcast.trainer.promoting import decide
from wattcast.trainer.store import ModelStore


def _metrics(mae: float, daily: float = 2.0, weekly: float = 1.5) -> Metrics:
    def error(value: float) -> ErrorMetrics:
        return ErrorMetrics(mae=value, rmse=value * 1.2, smape=10.0)

    return Metrics(
        holdout=Holdout(start="2024-01-01T00:00:00Z", end="2024-01-08T00:00:00Z", points=168),
        model=error(mae),
        baselines={"naiveDaily": error(daily), "naiveWeekly": error(weekly)},
    )


@pytest.mark.parametrize(
    ("mae", "previous", "promoted", "words"),
    [
        (
            1.0,
            None,
            True,
            ["promoted: ", "beats the best baseline naiveWeekly (1.5)", "no current"],
        ),
        (1.6, None, False, ["not promoted: ", "does not beat the best baseline naiveWeekly"]),
        (1.0, 1.2, True, ["is not worse than current version v0 on the same holdout (1.2)"]),
        (1.0, 1.0, True, ["is not worse than current version v0"]),
        (1.1, 0.9, False, ["not promoted: ", "is worse than current version v0 on the same"]),
    ],
    ids=["first", "loses-to-baseline", "better-than-current", "tie", "worse-than-current"],
)
def test_the_gate_promotes_only_a_model_that_beats_baselines_and_current(
    mae: float, previous: float | None, promoted: bool, words: list[str]
) -> None:
    decision = decide(
        PromotePolicy.GATE,
        _metrics(mae),
        previous_version="v0" if previous is not None else None,
        previous_mae=previous,
    )
    assert decision.promoted is promoted
    for word in words:
        assert word in decision.reason
    assert decision.best_baseline == "naiveWeekly" and decision.best_baseline_mae == 1.5


def test_always_overrides_the_gate_and_says_so() -> None:
    decision = decide(PromotePolicy.ALWAYS, _metrics(3.0), previous_version="v0", previous_mae=1.0)
    assert decision.promoted is True
    assert decision.reason.startswith("promoted (promote: always): ")
    assert (
        "does not beat" in decision.reason and "is worse than current version v0" in decision.reason
    )


def test_a_current_version_that_cannot_be_compared_is_named() -> None:
    decision = decide(
        PromotePolicy.GATE,
        _metrics(1.0),
        previous_version="v0",
        previous_mae=None,
        previous_note="it forecasts at 15m",
    )
    assert decision.promoted is True
    assert "current version v0 not compared: it forecasts at 15m" in decision.reason


def test_an_unpromoted_version_is_saved_but_current_stays(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)

    def write(path: Path) -> None:
        path.write_text("model")

    first = store.save(
        MeterType.ELECTRICITY, "m", write=write, verify=lambda p: None, metadata={}, keep=5
    )
    second = store.save(
        MeterType.ELECTRICITY,
        "m",
        write=write,
        verify=lambda p: None,
        metadata={},
        keep=5,
        promote=False,
    )
    assert store.current(MeterType.ELECTRICITY, "m") == first.version
    assert store.versions(MeterType.ELECTRICITY, "m") == [first.version, second.version]


def test_the_interval_is_the_residual_quantiles_of_each_horizon_step() -> None:
    rng = np.random.default_rng(3)
    steps = np.tile(np.arange(1, 25), 60)
    residuals = rng.normal(0, 1, len(steps)) * steps  # wider further ahead
    interval = prediction_interval(residuals, steps, 24)
    assert interval.level == 0.9 and interval.residuals == len(steps)
    for k in (1, 12, 24):
        chosen = residuals[steps == k]
        assert interval.lower[k - 1] == pytest.approx(np.quantile(chosen, 0.05))
        assert interval.upper[k - 1] == pytest.approx(np.quantile(chosen, 0.95))
    assert interval.upper[23] - interval.lower[23] > interval.upper[0] - interval.lower[0]


def test_few_residuals_are_pooled_with_neighbouring_steps() -> None:
    steps = np.repeat(np.arange(1, 25), 7)  # a week of holdout: 7 residuals per step
    residuals = np.arange(len(steps), dtype=np.float64)
    interval = prediction_interval(residuals, steps, 24)
    width = 2  # 5 steps x 7 residuals = 35 >= MIN_INTERVAL_RESIDUALS
    assert 5 * 7 >= MIN_INTERVAL_RESIDUALS > 3 * 7
    chosen = residuals[np.abs(steps - 12) <= width]
    assert interval.lower[11] == pytest.approx(np.quantile(chosen, 0.05))
