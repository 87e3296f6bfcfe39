"""The seasonal-naive baselines every model is scored against (docs/design.md §6).

`naiveDaily` forecasts y(t-24h) and `naiveWeekly` y(t-168h), from the prepared series (gaps up
to `maxGapHours` interpolated, longer ones missing: then the baseline has no forecast there).
They are Forecasters like the models: `fit` learns nothing, `predict` reads the series the
FeatureSet was built from.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wattcast.forecasting.features.building import FeatureSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class SeasonalNaive:
    """y(t - `lag` steps); NaN where that point is unknown or before the series."""

    def __init__(self, lag: int) -> None:
        if lag < 1:
            raise ValueError(f"a seasonal-naive lag must be at least one step; got {lag}")
        self.lag = lag

    def fit(self, features: FeatureSet, rows: IntArray) -> None:
        """A seasonal-naive forecast has nothing to learn."""

    def predict(self, features: FeatureSet) -> FloatArray:
        source = features.positions - self.lag
        out = np.full(len(source), np.nan)
        known = source >= 0
        out[known] = features.consumption[source[known]]
        return out


def seasonal_naive_baselines(steps_per_day: int) -> dict[str, SeasonalNaive]:
    """The baselines by the names metadata.json and the status report them under."""
    return {
        "naiveDaily": SeasonalNaive(steps_per_day),
        "naiveWeekly": SeasonalNaive(7 * steps_per_day),
    }
