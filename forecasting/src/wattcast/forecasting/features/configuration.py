"""The feature configuration, computed once per training, and its record in metadata.json.

:class:`FeatureConfig` is what a model spec asks of the features, in steps of the resolution;
:class:`Scaling` is what the features freeze from the training part. Training computes both
once; :func:`record` turns them into the model store's `features` (the contract's
:class:`~wattcast.crd.modelstore.FeatureConfiguration`) and :func:`from_record` reads them back
for every later forecast, so the two directions live side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wattcast.crd import ModelSpec, ModelType
from wattcast.crd.modelstore import FeatureConfiguration
from wattcast.forecasting.preparation import PreparedSeries

# Training days needed before the time-of-year harmonics are used.
MIN_ANNUAL_DAYS = 300
# History the forecasting path reads before an origin, beyond the features' warm-up: the
# smoothed weekly profiles (alpha 0.35 per week) keep under 0.1 % of their start after it.
HISTORY_WEEKS = 16


@dataclass(frozen=True)
class FeatureConfig:
    steps_per_day: int
    horizon: int  # steps
    lookback: int  # steps
    timezone: str
    holidays: str
    use_temperature: bool
    with_window: bool = False  # the lookback window as an input (sequence models)

    @property
    def week(self) -> int:
        return 7 * self.steps_per_day

    @property
    def warmup(self) -> int:
        """First target position with every feature defined."""
        longest_anchor = self.week * math.ceil(self.horizon / self.week) + self.week
        recent = self.horizon + self.week + max(self.lookback, self.steps_per_day)
        return max(longest_anchor, recent)

    @property
    def history(self) -> int:
        """Steps the forecasting path reads before an origin."""
        return self.warmup + HISTORY_WEEKS * self.week

    @classmethod
    def from_spec(
        cls, spec: ModelSpec, steps_per_day: int, *, timezone: str, holidays: str
    ) -> FeatureConfig:
        per_hour = steps_per_day / 24
        return cls(
            steps_per_day=steps_per_day,
            horizon=max(1, round(spec.horizon_hours * per_hour)),
            lookback=max(1, round(spec.lookback_hours * per_hour)),
            timezone=timezone,
            holidays=holidays,
            use_temperature=spec.use_temperature,
            with_window=spec.type == ModelType.LSTM,
        )


@dataclass(frozen=True)
class Scaling:
    """What the features freeze from the training part: a model's inputs are rebuilt with
    these values at every forecast (the model store keeps them in metadata.json)."""

    scale: float
    temperature_mean: float | None  # None: no temperature features
    temperature_std: float | None
    annual: bool


def training_scaling(series: PreparedSeries, config: FeatureConfig, scale_until: int) -> Scaling:
    """The scale (mean |y| of the valid training points), the temperature standardisation and
    the time-of-year switch, from the points before `scale_until` (the holdout's start)."""
    frame = series.frame
    y = frame["consumption"].to_numpy(dtype=np.float64)
    valid = frame["valid"].to_numpy(dtype=bool)
    train_values = y[:scale_until][valid[:scale_until]]
    scale = float(np.mean(np.abs(train_values))) if len(train_values) else 1.0
    if not math.isfinite(scale) or scale <= 0:
        scale = 1.0
    mean: float | None = None
    std: float | None = None
    if config.use_temperature and series.has_temperature:
        reference = frame["temperature"].to_numpy(dtype=np.float64)[:scale_until]
        mean, std = float(np.mean(reference)), float(np.std(reference)) or 1.0
    # Time of year only means something when training covers most of a year: over a few weeks
    # the harmonics are a trend, standardised to huge values, that the holdout then leaves.
    annual = (scale_until - config.warmup) >= MIN_ANNUAL_DAYS * config.steps_per_day
    return Scaling(scale=scale, temperature_mean=mean, temperature_std=std, annual=annual)


def record(
    config: FeatureConfig,
    scaling: Scaling,
    names: tuple[str, ...],
    *,
    max_gap_hours: float,
    max_zero_hours: float | None = None,
) -> FeatureConfiguration:
    """The model store's record of how to rebuild the inputs (metadata.json `features`)."""
    return FeatureConfiguration(
        steps_per_day=config.steps_per_day,
        horizon_steps=config.horizon,
        lookback_steps=config.lookback,
        warmup_steps=config.warmup,
        history_steps=config.history,
        timezone=config.timezone,
        holidays=config.holidays,
        use_temperature=config.use_temperature,
        with_window=config.with_window,
        max_gap_hours=max_gap_hours,
        max_zero_hours=max_zero_hours,
        scale=scaling.scale,
        temperature_mean=scaling.temperature_mean,
        temperature_std=scaling.temperature_std,
        annual=scaling.annual,
        names=list(names),
    )


def from_record(recorded: FeatureConfiguration) -> tuple[FeatureConfig, Scaling]:
    """The configuration and scaling a version was trained with, from its record."""
    config = FeatureConfig(
        steps_per_day=recorded.steps_per_day,
        horizon=recorded.horizon_steps,
        lookback=recorded.lookback_steps,
        timezone=recorded.timezone,
        holidays=recorded.holidays,
        use_temperature=recorded.use_temperature,
        with_window=recorded.with_window,
    )
    scaling = Scaling(
        scale=recorded.scale,
        temperature_mean=recorded.temperature_mean,
        temperature_std=recorded.temperature_std,
        annual=recorded.annual,
    )
    return config, scaling
