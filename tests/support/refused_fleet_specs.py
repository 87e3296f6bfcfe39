"""Every FleetTrainingJob spec the CRD refuses, in one table (the fleet counterpart of
refused_specs.py): the contract's unit tests validate each with the models the REST API uses
(tests/unit/crd/test_fleet_contract.py), the fleet's integration tests create each on the real
kube-apiserver (tests/integration/fleet), and the REST API's tests may send each too.

`blamed` is the field the API server blames, `reason` its cause's reason, and `words` a part
of its message; `field` is the dotted camelCase field under the spec that the models name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wattcast.crd.fleettrainingjob import MAX_METER_IDS, MAX_PATTERN_LENGTH

VALID_FLEET_SPEC: dict[str, Any] = {
    "meters": {"ids": ["meter1", "meter2"]},
    "meterType": "electricity",
    "start": "2023-01-01T00:00:00Z",
    "end": "2023-03-01T00:00:00Z",
}


@dataclass(frozen=True)
class RefusedFleetSpec:
    id: str
    changes: dict[str, Any]
    blamed: str
    reason: str
    words: str
    field: str

    def spec(self) -> dict[str, Any]:
        return {**VALID_FLEET_SPEC, **self.changes}


def _pattern(case: str, pattern: str, words: str) -> RefusedFleetSpec:
    return RefusedFleetSpec(
        case,
        {"meters": {"discover": {"pattern": pattern}}},
        "spec.meters.discover.pattern",
        "FieldValueInvalid",
        words,
        "meters.discover.pattern",
    )


_SUBSET = "outside the supported regular expressions"
_INVALID = "must be a valid regular expression"

REFUSED_FLEET_SPECS: list[RefusedFleetSpec] = [
    RefusedFleetSpec(
        "ids-and-discover",
        {"meters": {"ids": ["meter1"], "discover": {}}},
        "spec.meters",
        "FieldValueInvalid",
        "exactly one of meters.ids and meters.discover must be set",
        "meters",
    ),
    RefusedFleetSpec(
        "neither-ids-nor-discover",
        {"meters": {}},
        "spec.meters",
        "FieldValueInvalid",
        "exactly one of meters.ids and meters.discover must be set",
        "meters",
    ),
    RefusedFleetSpec(
        "empty-ids",
        {"meters": {"ids": []}},
        "spec.meters.ids",
        "FieldValueInvalid",
        "should have at least 1 items",
        "meters.ids",
    ),
    RefusedFleetSpec(
        "ids-over-the-bound",
        {"meters": {"ids": [f"m{i}" for i in range(MAX_METER_IDS + 1)]}},
        "spec.meters.ids",
        "FieldValueTooMany",
        f"must have at most {MAX_METER_IDS} items",
        "meters.ids",
    ),
    RefusedFleetSpec(
        "duplicate-id",
        {"meters": {"ids": ["meter1", "meter1"]}},
        "spec.meters.ids[1]",
        "FieldValueDuplicate",
        "Duplicate value",
        "meters.ids",
    ),
    RefusedFleetSpec(
        "id-injection",
        {"meters": {"ids": ["meter1' OR 1=1 --"]}},
        "spec.meters.ids[0]",
        "FieldValueInvalid",
        "should match",
        "meters.ids.0",
    ),
    _pattern("unbalanced-pattern", "(meter", _INVALID),
    _pattern("look-ahead", "(?=meter)m", _INVALID),
    _pattern("back-reference", "(m)\\1", _INVALID),
    _pattern("unicode-class", "\\pL+", _SUBSET),
    _pattern("posix-class", "[[:alpha:]]+", _SUBSET),
    _pattern("possessive", "m++", _INVALID),
    RefusedFleetSpec(
        "pattern-too-long",
        {"meters": {"discover": {"pattern": "m" * (MAX_PATTERN_LENGTH + 1)}}},
        "spec.meters.discover.pattern",
        "FieldValueTooLong",
        f"may not be more than {MAX_PATTERN_LENGTH} bytes",
        "meters.discover.pattern",
    ),
    RefusedFleetSpec(
        "zero-parallelism",
        {"parallelism": 0},
        "spec.parallelism",
        "FieldValueInvalid",
        "should be greater than or equal to 1",
        "parallelism",
    ),
    RefusedFleetSpec(
        "zero-meters-per-pod",
        {"metersPerPod": 0},
        "spec.metersPerPod",
        "FieldValueInvalid",
        "should be greater than or equal to 1",
        "metersPerPod",
    ),
    RefusedFleetSpec(
        "huge-backoff-per-index",
        {"backoffLimitPerIndex": 21},
        "spec.backoffLimitPerIndex",
        "FieldValueInvalid",
        "should be less than or equal to 20",
        "backoffLimitPerIndex",
    ),
    RefusedFleetSpec(
        "reversed-dates",
        {"start": "2024-01-01T00:00:00Z", "end": "2023-01-01T00:00:00Z"},
        "spec",
        "FieldValueInvalid",
        "end must be after start",
        "end",
    ),
    RefusedFleetSpec(
        "unknown-meter-type",
        {"meterType": "gas"},
        "spec.meterType",
        "FieldValueNotSupported",
        "Unsupported value",
        "meterType",
    ),
]

ACCEPTED_FLEET_SPECS: dict[str, dict[str, Any]] = {
    "discover-everything": {"meters": {"discover": {}}},
    "discover-anchored": {"meters": {"discover": {"pattern": "^site-[0-9]+$"}}},
    "discover-named-group-and-flag": {"meters": {"discover": {"pattern": "(?i)(?P<s>site)-"}}},
    "ids-at-the-bound": {"meters": {"ids": [f"m{i}" for i in range(MAX_METER_IDS)]}},
    "every-knob": {"parallelism": 8, "metersPerPod": 50, "backoffLimitPerIndex": 0},
}
