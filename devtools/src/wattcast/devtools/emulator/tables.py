"""Server-side printing: ``meta.k8s.io/v1`` Table output (``Accept: ...;as=Table``).

kubectl asks for Tables on ``kubectl get``; for custom resources the columns are the CRD's
``additionalPrinterColumns`` (after the Name column), with ``date`` columns shown as an age,
exactly as apiextensions-apiserver's table convertor does. Built-in kinds get Name and Age
(and a Status column for namespaces): the real server prints more for pods and jobs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from wattcast.devtools.emulator.resources import ResourceType

_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace. Is required when creating "
    "resources, although some resources may allow a client to request the generation of an "
    "appropriate name automatically. Name is primarily intended for creation idempotence and "
    "configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "priority": 0,
}
_AGE_COLUMN = {
    "name": "Age",
    "type": "date",
    "format": "",
    "description": "CreationTimestamp is a timestamp representing the server time when this "
    "object was created.",
    "priority": 0,
}


def human_duration(seconds: float) -> str:
    """apimachinery's ``duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def _age(timestamp: Any, now: dt.datetime) -> str | None:
    if not isinstance(timestamp, str):
        return None
    try:
        when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return human_duration((now - when).total_seconds())


_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\?\(@\.([^=!]+)==['\"]([^'\"]*)['\"]\)\]|\[\*\]")


def json_path(obj: Any, path: str) -> Any:
    """Evaluate the JSONPath subset printer columns use: ``.a.b``, ``[0]``, ``[?(@.k=="v")]``."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    nodes: list[Any] = [obj]
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            return None
        pos = m.end()
        nxt: list[Any] = []
        for node in nodes:
            if m.group(1) is not None:
                if isinstance(node, Mapping) and m.group(1) in node:
                    nxt.append(node[m.group(1)])
            elif m.group(2) is not None:
                idx = int(m.group(2))
                if isinstance(node, list) and idx < len(node):
                    nxt.append(node[idx])
            elif m.group(3) is not None:
                if isinstance(node, list):
                    key, value = m.group(3), m.group(4)
                    nxt.extend(
                        i for i in node if isinstance(i, Mapping) and str(i.get(key)) == value
                    )
            elif isinstance(node, list):
                nxt.extend(node)
        nodes = nxt
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else nodes


def _cell(column: Mapping[str, Any], obj: Mapping[str, Any], now: dt.datetime) -> Any:
    value = json_path(obj, str(column.get("jsonPath", "")))
    if value is None:
        return None
    kind = column.get("type")
    if kind == "date":
        return _age(value, now)
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value if kind in ("integer", "number", "boolean") else str(value)


def columns_for(rtype: ResourceType) -> list[dict[str, Any]]:
    if rtype.custom and rtype.printer_columns:
        cols = [dict(_NAME_COLUMN)]
        for c in rtype.printer_columns:
            cols.append(
                {
                    "name": c.get("name", ""),
                    "type": c.get("type", "string"),
                    "format": c.get("format", ""),
                    "description": c.get("description", ""),
                    "priority": int(c.get("priority", 0)),
                }
            )
        return cols
    if rtype.kind == "Namespace":
        status = {
            "name": "Status",
            "type": "string",
            "format": "",
            "priority": 0,
            "description": "The status of the namespace",
        }
        return [dict(_NAME_COLUMN), status, dict(_AGE_COLUMN)]
    return [dict(_NAME_COLUMN), dict(_AGE_COLUMN)]


def row_for(
    rtype: ResourceType, obj: Mapping[str, Any], include: str, now: dt.datetime
) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    cells: list[Any] = [meta.get("name")]
    if rtype.custom and rtype.printer_columns:
        cells.extend(_cell(c, obj, now) for c in rtype.printer_columns)
    elif rtype.kind == "Namespace":
        cells.append((obj.get("status") or {}).get("phase", "Active"))
        cells.append(_age(meta.get("creationTimestamp"), now))
    else:
        cells.append(_age(meta.get("creationTimestamp"), now))
    row: dict[str, Any] = {"cells": cells}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
        }
    return row


def table(
    rtype: ResourceType,
    objects: Sequence[Mapping[str, Any]],
    *,
    include: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    with_columns: bool = True,
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns_for(rtype) if with_columns else None,
        "rows": [row_for(rtype, o, include, now) for o in objects],
    }
