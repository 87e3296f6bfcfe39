"""Status messages are for people: they never carry an internal address.

A TrainingJob's `status.message` and condition messages are read by whoever may read the
TrainingJob (and shown by the REST API and the dashboard), so the operator and the trainer
write them in their own words, naming an InfluxDB source by its configured name, never by its
URL. Text that comes from elsewhere (an InfluxDB error, an API server's refusal, a trainer's
termination message) passes `redacted` first: URLs, IP addresses, `host=`/`port=` pairs and
`name.domain:port` are replaced by `[address]`.
"""

from __future__ import annotations

import re
from typing import Final

ADDRESS: Final = "[address]"

_PATTERNS = [
    # scheme://anything-up-to-a-delimiter (credentials in the URL included)
    re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{0,15}://[^\s'\"<>()\[\]{},]+"),
    # urllib3 and requests spell pools as HTTPConnectionPool(host='x', port=8086)
    re.compile(r"\bhost=(['\"]?)[^'\",)\s]*\1"),
    re.compile(r"\bport=\d+"),
    # [IPv6]:port
    re.compile(r"\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\](?::\d{1,5})?"),
    # IPv4, with its port
    re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])"),
    # a dotted name ending in a word, with a port: influx.internal:8086, kube.default.svc:443
    # (not a meter id such as plant.a:3 or a time such as 23:59:59)
    re.compile(r"(?<![\w.:-])(?:[A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]+:\d{2,5}(?![\w:])"),
]


def redacted(text: str) -> str:
    """`text` with every internal address replaced by `[address]`."""
    for pattern in _PATTERNS:
        text = pattern.sub(ADDRESS, text)
    return text
