"""Where a meter's readings come from: the DataSource interface and its query (docs/design.md §5).

The two InfluxDB dialects that implement it live in :mod:`wattcast.forecasting.influx`; this
module imports neither, so both can import it.

A :class:`DataSource` returns one meter's series for a half-open time range as a frame indexed
by UTC timestamps with a float ``consumption`` column and, when the meter has it, a float
``temperature`` column. With a resolution, InfluxDB aggregates on the server (the mean per
window, labelled with the window's start); without one the raw points come back (benchmarks).

Nothing from a TrainingJob reaches a query as pasted text: the meter id and the time range are
bound parameters in both dialects, the measurement comes from the MeterType enum, the window
from the Resolution enum, and bucket/database names are re-checked against the contract's
patterns. :func:`check_meter_id` runs before any source is even built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import pandas as pd

from wattcast.crd import MeterType, Resolution
from wattcast.crd.times import rfc3339
from wattcast.crd.trainingjob import INFLUX_NAME_PATTERN, METER_ID_PATTERN
from wattcast.forecasting.errors import InvalidConfigError, InvalidMeterIdError

_METER_ID = re.compile(METER_ID_PATTERN)
_INFLUX_NAME = re.compile(INFLUX_NAME_PATTERN)


def check_meter_id(meter_id: object) -> str:
    """The meter id if it matches the contract's pattern, else InvalidMeterIdError.

    The schema already refuses bad ids; this second check guards the standalone path and any
    object that reached the trainer without the API server's validation.
    """
    if not isinstance(meter_id, str) or _METER_ID.fullmatch(meter_id) is None:
        shown = repr(meter_id)[:80]
        raise InvalidMeterIdError(
            f"meterId {shown} is not a valid meter id (pattern {METER_ID_PATTERN}); "
            "no query was sent"
        )
    return meter_id


def check_influx_name(kind: str, value: str | None) -> str:
    if value is None or _INFLUX_NAME.fullmatch(value) is None:
        raise InvalidConfigError(
            f"InfluxDB {kind} {value!r} is missing or invalid (pattern {INFLUX_NAME_PATTERN})"
        )
    return value


@dataclass(frozen=True)
class MeterQuery:
    """One meter's data over [start, end), aggregated to `resolution` (None: raw points)."""

    meter_id: str
    meter_type: MeterType
    start: datetime
    end: datetime
    resolution: Resolution | None = Resolution.HOUR_1

    def __post_init__(self) -> None:
        check_meter_id(self.meter_id)
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidConfigError("start and end must be timezone-aware")
        # One zone for both ends (the contract gives UTC already; callers may not).
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end <= self.start:
            raise InvalidConfigError(
                f"end ({rfc3339(self.end)}) must be after start ({rfc3339(self.start)})"
            )


class DataSource(Protocol):
    """Where a meter's readings come from."""

    def fetch(self, query: MeterQuery) -> pd.DataFrame:
        """The readings (see the module doc). Raises SourceUnavailableError when InfluxDB
        cannot be reached or fails on its side (retriable), InvalidConfigError when it refuses
        the request (authentication, unknown bucket, bad query)."""
        ...

    def last_time(self, query: MeterQuery) -> pd.Timestamp | None:
        """Time of the meter's last consumption reading in [start, end) (None: no reading);
        errors as for `fetch`."""
        ...
