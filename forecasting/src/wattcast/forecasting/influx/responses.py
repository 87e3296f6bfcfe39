"""What both dialects do with InfluxDB's answers: the empty frame and InfluxDB's own words."""

from __future__ import annotations

import json

import pandas as pd

from wattcast.crd.messages import redacted


def empty_frame() -> pd.DataFrame:
    """A meter's frame without readings (the shape :class:`DataSource.fetch` returns)."""
    return pd.DataFrame(
        {"consumption": pd.Series(dtype="float64")},
        index=pd.DatetimeIndex([], tz="UTC", name="time"),
    )


def influx_error_text(body: object) -> str:
    """InfluxDB's own words about a refused query (its JSON `message`), short and redacted."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        text = parsed["message"]
    elif isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        text = parsed["error"]
    return redacted(" ".join(text.split())[:300]) or "no reason given"
