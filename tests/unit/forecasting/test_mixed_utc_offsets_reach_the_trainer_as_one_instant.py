"""Property: a start and an end written with any two UTC offsets (`Z`, `+01:00`, `-09:30`, ...)
mean the same two instants everywhere, from the contract through the query builders to the
trainer's time grid, and never crash pandas (which refuses a range with two offsets).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from wattcast.crd import MeterType, Resolution, TrainingJobSpec
from wattcast.forecasting.datasource import MeterQuery
from wattcast.forecasting.influx import flux, influxql
from wattcast.forecasting.preparation import regular_grid

# Every offset RFC 3339 and Python can spell: -23:59 to +23:59, to the minute.
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
lengths = st.timedeltas(min_value=timedelta(hours=2), max_value=timedelta(days=400))


def spelled(instant: datetime, zone: timezone) -> str:
    """The instant as RFC 3339 in another offset (`Z` for UTC, as clients write it)."""
    text = instant.astimezone(zone).isoformat()
    return text.replace("+00:00", "Z")


@settings(max_examples=300, deadline=None)
@given(
    start=instants,
    length=lengths,
    start_zone=offsets,
    end_zone=offsets,
    resolution=st.sampled_from(list(Resolution)),
)
def test_any_two_offsets_mean_the_same_instants_everywhere(
    start: datetime,
    length: timedelta,
    start_zone: timezone,
    end_zone: timezone,
    resolution: Resolution,
) -> None:
    end = start + length
    spec = TrainingJobSpec.model_validate(
        {
            "meterId": "meter1",
            "meterType": "electricity",
            "start": spelled(start, start_zone),
            "end": spelled(end, end_zone),
        }
    )
    # The contract: both ends in UTC, the same instants.
    assert spec.start.utcoffset() == timedelta(0) and spec.end.utcoffset() == timedelta(0)
    assert (spec.start, spec.end) == (start, end)
    assert spec.to_json_dict()["start"].endswith("Z")

    # The query builders: the same instants, in UTC.
    query = MeterQuery(
        meter_id=spec.meter_id,
        meter_type=MeterType.ELECTRICITY,
        start=spec.start,
        end=spec.end,
        resolution=resolution,
    )
    _, ql = influxql.build_query(query)
    assert ql["start"].endswith("Z") and ql["end"].endswith("Z")
    assert datetime.fromisoformat(ql["start"]) == start
    assert datetime.fromisoformat(ql["end"]) == end
    _, fx = flux.build_query(query, "energy")
    assert (fx["_start"], fx["_stop"]) == (start, end)
    assert fx["_start"].utcoffset() == fx["_stop"].utcoffset() == timedelta(0)

    # The trainer's grid: UTC points inside [start, end), from the spec as it is used and
    # from the raw offsets too (the grid itself accepts ends in two zones).
    freq = pd.Timedelta(minutes=resolution.minutes)
    for first, last in [
        (pd.Timestamp(spec.start), pd.Timestamp(spec.end)),
        (pd.Timestamp(start.astimezone(start_zone)), pd.Timestamp(end.astimezone(end_zone))),
    ]:
        grid = regular_grid(first, last, freq)
        assert str(grid.tz) == "UTC"
        assert len(grid) > 0
        assert grid[0] >= pd.Timestamp(start) and grid[-1] < pd.Timestamp(end)
        assert grid[0] - pd.Timestamp(start) < freq


@settings(max_examples=100, deadline=None)
@given(instant=instants, zone=offsets)
def test_the_same_instant_in_any_offset_is_one_and_the_same_spec(
    instant: datetime, zone: timezone
) -> None:
    end = spelled(instant + timedelta(days=30), UTC)

    def spec(start: str) -> TrainingJobSpec:
        return TrainingJobSpec.model_validate(
            {"meterId": "m", "meterType": "water", "start": start, "end": end}
        )

    assert spec(spelled(instant, zone)) == spec(spelled(instant, UTC))
