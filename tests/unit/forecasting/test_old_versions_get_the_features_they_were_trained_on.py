"""A version trained before a feature was added gets exactly the columns it was trained on."""

from __future__ import annotations

import numpy as np
import pytest
from prepared_series import hourly_series

from wattcast.crd import ModelSpec
from wattcast.forecasting.features.building import ANCHORS, build_features
from wattcast.forecasting.features.configuration import FeatureConfig


def _config() -> FeatureConfig:
    return FeatureConfig.from_spec(
        ModelSpec(use_temperature=False), 24, timezone="Europe/Berlin", holidays="DE"
    )


@pytest.mark.parametrize(
    "added",
    [
        ("doubleSeasonalSmoothTrend",),
        ("doubleSeasonalLastPoint", "doubleSeasonalSmoothTrend"),
        ("doubleSeasonal", "doubleSeasonalLastPoint", "doubleSeasonalSmoothTrend"),
    ],
    ids=[
        "before-the-smooth-trend-anchor",
        "before-the-last-point-anchor",
        "before-every-double-seasonal-anchor",
    ],
)
def test_a_version_trained_before_an_anchor_was_added_gets_its_old_columns(
    added: tuple[str, ...],
) -> None:
    series = hourly_series(5.0 + np.sin(np.arange(60 * 24) * 2 * np.pi / 24))
    config = _config()
    now = build_features(series, config, scale_until=50 * 24)
    assert set(added) <= set(now.feature_names) and now.anchors.shape[1] == len(ANCHORS)
    old = [name for name in now.feature_names if name not in added]
    then = build_features(series, config, scale_until=50 * 24, names=old)
    assert list(then.feature_names) == old
    kept_anchors = [i for i, name in enumerate(ANCHORS) if name not in added]
    assert then.anchors.shape[1] == len(kept_anchors)
    keep = [now.feature_names.index(name) for name in old]
    np.testing.assert_array_equal(then.features, now.features[:, keep])
    np.testing.assert_array_equal(then.anchors, now.anchors[:, kept_anchors])


def test_a_feature_this_release_does_not_build_is_refused() -> None:
    series = hourly_series(np.ones(60 * 24))
    with pytest.raises(ValueError, match="does not build"):
        build_features(series, _config(), scale_until=50 * 24, names=["lagDay", "fromTheFuture"])


@pytest.mark.parametrize(
    "anchor", ["doubleSeasonal", "doubleSeasonalLastPoint", "doubleSeasonalSmoothTrend"]
)
def test_the_double_seasonal_anchors_follow_a_clean_double_season(anchor: str) -> None:
    hours = np.arange(70 * 24)
    values = 10 + np.sin(hours * 2 * np.pi / 24) + 2.0 * (hours // 24 % 7 >= 5)
    series = hourly_series(values)
    features = build_features(series, _config(), scale_until=60 * 24)
    column = ANCHORS.index(anchor)
    late = features.positions >= 40 * 24
    error = np.abs(features.anchors[late, column] - features.target[late])
    assert float(np.mean(error)) < 0.01  # scaled units: under 1 % of the mean


@pytest.mark.parametrize("anchor", ["doubleSeasonalLastPoint", "doubleSeasonalSmoothTrend"])
def test_the_last_point_anchors_follow_a_level_shift_within_the_day(anchor: str) -> None:
    # A clean double season whose level drops by a fifth one morning: from the next day's
    # origin on, the anchor re-levelled to the last point is near the new level, where the
    # smoothed level and patterns still carry a good part of the old one.
    hours = np.arange(70 * 24)
    values = 10 + np.sin(hours * 2 * np.pi / 24) + 2.0 * (hours // 24 % 7 >= 5)
    shift = 50 * 24 + 6
    values[shift:] -= 2.0
    features = build_features(hourly_series(values), _config(), scale_until=60 * 24)
    day_after = (features.positions >= 51 * 24) & (features.positions < 52 * 24)
    error = {
        name: float(
            np.mean(
                np.abs(
                    features.anchors[day_after, ANCHORS.index(name)] - features.target[day_after]
                )
            )
        )
        for name in ("doubleSeasonal", anchor)
    }
    drop = 2.0 / features.scale
    assert error[anchor] < 0.15 * drop
    assert error["doubleSeasonal"] > 1.5 * error[anchor]
