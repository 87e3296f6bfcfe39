"""The feature configuration is computed once and its metadata.json record reads back to it."""

from __future__ import annotations

import numpy as np
import pytest
from prepared_series import hourly_series

from wattcast.crd import ModelSpec, ModelType
from wattcast.crd.modelstore import FeatureConfiguration
from wattcast.forecasting.features.building import build_features
from wattcast.forecasting.features.configuration import (
    HISTORY_WEEKS,
    FeatureConfig,
    Scaling,
    from_record,
    record,
)


@pytest.mark.parametrize(
    ("model_type", "steps_per_day", "temperature"),
    [
        (ModelType.SEASONAL_RESIDUAL, 24, True),
        (ModelType.SEASONAL_RESIDUAL, 96, False),
        (ModelType.LSTM, 24, True),
    ],
    ids=["hourly", "quarter-hourly-no-temperature", "lstm"],
)
def test_the_record_reads_back_to_the_configuration_and_scaling(
    model_type: ModelType, steps_per_day: int, temperature: bool
) -> None:
    spec = ModelSpec(type=model_type, use_temperature=temperature)
    config = FeatureConfig.from_spec(spec, steps_per_day, timezone="Europe/Berlin", holidays="DE")
    scaling = Scaling(
        scale=2.5,
        temperature_mean=11.0 if temperature else None,
        temperature_std=4.0 if temperature else None,
        annual=False,
    )
    recorded = record(config, scaling, ("a", "b"), max_gap_hours=6.0)
    # Through JSON, as a reader gets it from metadata.json.
    text = recorded.model_dump_json(by_alias=True)
    assert from_record(FeatureConfiguration.model_validate_json(text)) == (config, scaling)
    assert recorded.warmup_steps == config.warmup
    assert recorded.history_steps == config.warmup + HISTORY_WEEKS * 7 * steps_per_day
    assert recorded.with_window is (model_type == ModelType.LSTM)
    assert recorded.names == ["a", "b"]


def test_only_sequence_models_take_the_lookback_window() -> None:
    series = hourly_series(np.ones(40 * 24))
    n = len(series.frame)
    for model_type, has_window in ((ModelType.SEASONAL_RESIDUAL, False), (ModelType.LSTM, True)):
        spec = ModelSpec(type=model_type)
        config = FeatureConfig.from_spec(spec, 24, timezone="UTC", holidays="none")
        features = build_features(series, config, scale_until=n)
        assert (features.window is not None) is has_window
        if features.window is not None:
            assert features.window.shape == (len(features.positions), config.lookback)
