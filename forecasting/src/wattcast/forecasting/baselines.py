"""The seasonal-naive baselines every model is scored against (docs/design.md §6).

`naiveDaily` forecasts y(t-24h) and `naiveWeekly` y(t-168h), from the prepared series (gaps up
to `maxGapHours` interpolated, longer ones missing). Where that point is missing the baseline
reads the same time one more period back (y(t-48h), y(t-336h), ...; up to FALLBACK_PERIODS
periods), as a person would: so a gap a week before the holdout does not leave holdout points
unscored. Only where all of them are missing has the baseline no forecast.
They are Forecasters like the models: `fit` learns nothing, `predict` reads the series the
FeatureSet was built from.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wattcast.forecasting.features.building import FeatureSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# Periods a seasonal-naive forecast looks further back for a missing point.
FALLBACK_PERIODS = 4


class SeasonalNaive:
    """y(t - `lag` steps), else y(t - 2 `lag`) ...; NaN where none of them is known."""

    def __init__(self, lag: int) -> None:
        if lag < 1:
            raise ValueError(f"a seasonal-naive lag must be at least one step; got {lag}")
        self.lag = lag

    def fit(self, features: FeatureSet, rows: IntArray) -> None:
        """A seasonal-naive forecast has nothing to learn."""

    def predict(self, features: FeatureSet) -> FloatArray:
        out = np.full(len(features.positions), np.nan)
        for periods in range(1, FALLBACK_PERIODS + 1):
            source = features.positions - periods * self.lag
            todo = np.isnan(out) & (source >= 0)
            if not todo.any():
                break
            out[todo] = features.consumption[source[todo]]
        return out


def seasonal_naive_baselines(steps_per_day: int) -> dict[str, SeasonalNaive]:
    """The baselines by the names metadata.json and the status report them under."""
    return {
        "naiveDaily": SeasonalNaive(steps_per_day),
        "naiveWeekly": SeasonalNaive(7 * steps_per_day),
    }
