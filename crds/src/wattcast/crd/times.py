"""Timestamps as the Kubernetes API writes them: UTC, RFC 3339 with a `Z`.

Status fields (`startTime`, `completionTime`, `lastTransitionTime`, `trainingCompleted`) and
InfluxDB query bounds all use these, so every component writes and reads one format.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    """Now, in UTC, to the whole second (as Kubernetes timestamps are)."""
    return datetime.now(UTC).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    """`moment` in UTC as RFC 3339 with a `Z` (fractions of a second kept when present).

    A naive datetime is refused: which zone it meant cannot be known.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_rfc3339(value: object) -> datetime | None:
    """An RFC 3339 string (with `Z` or an offset) as an aware datetime; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
