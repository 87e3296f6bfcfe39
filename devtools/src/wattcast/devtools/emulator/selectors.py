"""Label and field selectors, parsed and matched as kube-apiserver does.

Label selectors: ``k``, ``!k``, ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``,
``k>1``, ``k<1``, comma-separated (all must hold). Field selectors: ``f=v``, ``f==v``,
``f!=v``, comma-separated, over the fields a resource supports (``metadata.name``,
``metadata.namespace`` for all, plus each resource's own such as a CRD's ``selectableFields``);
an unsupported field is a 400, as on a real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wattcast.devtools.emulator.errors import ApiError, bad_request

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_OP_RE = re.compile(rf"^\s*({_KEY})\s*(==|=|!=|>|<)\s*({_VALUE})\s*$")
_VALUE_RE = re.compile(rf"^{_VALUE}$")


@dataclass(frozen=True)
class _Requirement:
    key: str
    op: str  # exists, !exists, in, notin, gt, lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if not present or value is None:
            return False
        try:
            number = int(value)
        except ValueError:
            return False
        bound = int(self.values[0])
        return number > bound if self.op == "gt" else number < bound


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


class LabelSelector:
    """A parsed label selector; the empty selector matches everything."""

    def __init__(self, requirements: list[_Requirement]) -> None:
        self.requirements = requirements

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        if not text:
            return cls([])
        reqs: list[_Requirement] = []
        for part in _split_top_level(text):
            reqs.append(_parse_label_requirement(part))
        return cls(reqs)

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)


def _parse_label_requirement(part: str) -> _Requirement:
    m = _OP_RE.match(part)
    if m is not None:
        key, op, value = m.group(1), m.group(3), m.group(4)
        if op in ("=", "=="):
            return _Requirement(key, "in", (value,))
        if op == "!=":
            return _Requirement(key, "notin", (value,))
        if not re.fullmatch(r"-?\d+", value):
            raise bad_request(
                f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an "
                f"integer: {value!r}"
            )
        return _Requirement(key, "gt" if op == ">" else "lt", (value,))
    m = _SET_RE.match(part)
    if m is not None:
        negated, key, set_op, raw_values = m.group(1), m.group(2), m.group(4), m.group(5)
        if set_op is None:
            return _Requirement(key, "!exists" if negated else "exists")
        if negated:
            raise bad_request(f"unable to parse requirement: {part.strip()!r}")
        values = tuple(v.strip() for v in (raw_values or "").split(",") if v.strip())
        for v in values:
            if not _VALUE_RE.match(v):
                raise bad_request(f"unable to parse requirement: invalid label value: {v!r}")
        if not values:
            raise bad_request(
                "unable to parse requirement: for 'in', 'notin' operators, values set can't "
                "be empty"
            )
        return _Requirement(key, set_op, values)
    raise bad_request(
        f"unable to parse requirement: found '{part.strip()}', expected: a label "
        "selector requirement"
    )


# Field selectors -----------------------------------------------------------------------

FieldGetter = Callable[[Mapping[str, Any]], str | None]


def json_path_getter(path: str) -> FieldGetter:
    """A getter for a simple ``.a.b.c`` JSONPath (the only form selectableFields allow)."""
    parts = [p for p in path.strip().lstrip(".").split(".") if p]

    def get(obj: Mapping[str, Any]) -> str | None:
        node: Any = obj
        for p in parts:
            if not isinstance(node, Mapping) or p not in node:
                return None
            node = node[p]
        if node is None:
            return None
        if isinstance(node, bool):
            return "true" if node else "false"
        return str(node)

    return get


@dataclass(frozen=True)
class _FieldRequirement:
    field: str
    negate: bool
    value: str


class FieldSelector:
    """A parsed field selector, checked against the fields a resource supports."""

    def __init__(self, requirements: list[_FieldRequirement]) -> None:
        self.requirements = requirements

    @classmethod
    def parse(cls, text: str | None) -> FieldSelector:
        if not text:
            return cls([])
        reqs: list[_FieldRequirement] = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            for op in ("!=", "==", "="):
                if op in part:
                    field, value = part.split(op, 1)
                    reqs.append(_FieldRequirement(field.strip(), op == "!=", value.strip()))
                    break
            else:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        return cls(reqs)

    def check_supported(self, supported: Mapping[str, FieldGetter]) -> None:
        for req in self.requirements:
            if req.field not in supported:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"field label not supported: {req.field}",
                )

    def matches(self, obj: Mapping[str, Any], supported: Mapping[str, FieldGetter]) -> bool:
        for req in self.requirements:
            actual = supported[req.field](obj) or ""
            if (actual == req.value) == req.negate:
                return False
        return True

    def single_name(self) -> str | None:
        """The name a ``metadata.name=X`` selector pins (a fast path for kubectl wait)."""
        for req in self.requirements:
            if req.field == "metadata.name" and not req.negate:
                return req.value
        return None
