"""Hostile and malformed TrainingJob specs, with the real API server's verdict on each.

One table for every test that proves a bad spec is refused: the CRD tests create each one on
the real kube-apiserver (tests/integration/crd), and the REST API's tests send the same specs
and expect a 422 for each. `tests/support` is on pytest's `pythonpath`, so any test may
`from hostile_specs import HOSTILE_SPECS`.

Each row names the one field the API server blames and its message for it, exactly as the
server words it in the Status' `details.causes` (`kubectl apply` prints
"<field>: <message>"). Where a structural error keeps the CEL rules from running, the server
adds one more cause, `RULES_NOT_CHECKED`; nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wattcast.crd.names import DNS_LABEL_PATTERN
from wattcast.crd.trainingjob import QUANTITY_PATTERN

METER_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
INFLUX_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

# The cause the API server adds when a structural error kept it from running the CEL rules.
RULES_NOT_CHECKED = {
    "reason": "FieldValueInvalid",
    "field": "<nil>",
    "message": "Invalid value: null: some validation rules were not checked because the object "
    "was invalid; correct the existing errors to complete validation",
}

# A spec the CRD accepts; every row changes one thing in it.
VALID_SPEC: dict[str, Any] = {
    "meterId": "meter1",
    "meterType": "electricity",
    "start": "2023-01-01T00:00:00Z",
    "end": "2023-12-31T23:59:59Z",
}


@dataclass(frozen=True)
class HostileSpec:
    """A spec the CRD refuses with 422 Invalid, and the cause the API server gives.

    `spec` is a whole TrainingJob spec in its JSON (camelCase) form, as `kubectl apply` or the
    REST API's `POST /trainingjobs` would send it. `field` is the path the server blames
    (`spec` itself for a CEL rule on the spec), `reason` the cause's reason and `message` its
    message, word for word.
    """

    id: str
    spec: dict[str, Any]
    field: str
    reason: str
    message: str

    @property
    def cause(self) -> dict[str, str]:
        """The cause as it appears in the Status' `details.causes`."""
        return {"reason": self.reason, "field": self.field, "message": self.message}


def spec(**changes: Any) -> dict[str, Any]:
    """`VALID_SPEC` with `changes` (camelCase keys); a value of `...` removes that field."""
    merged = {**VALID_SPEC, **changes}
    return {key: value for key, value in merged.items() if value is not ...}


def _pattern(case: str, field: str, value: str, quoted: str, pattern: str) -> HostileSpec:
    """A string that does not match its pattern; `quoted` is the value as Go's %q prints it."""
    name = field.removeprefix("spec.")
    body = spec(**_nested(name, value))
    message = f"Invalid value: {quoted}: {field} in body should match '{pattern}'"
    return HostileSpec(case, body, field, "FieldValueInvalid", message)


def _nested(path: str, value: Any) -> dict[str, Any]:
    """{"a.b.c": v} as {"a": {"b": {"c": v}}}."""
    head, _, rest = path.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _meter_id(case: str, value: str, quoted: str) -> HostileSpec:
    return _pattern(case, "spec.meterId", value, quoted, METER_ID_PATTERN)


def _bound(case: str, field: str, value: int | float, words: str) -> HostileSpec:
    name = field.removeprefix("spec.")
    message = f"Invalid value: {value}: {field} in body should be {words}"
    return HostileSpec(case, spec(**_nested(name, value)), field, "FieldValueInvalid", message)


def _rule(case: str, body: dict[str, Any], message: str) -> HostileSpec:
    return HostileSpec(
        case, body, "spec", "FieldValueInvalid", f'Invalid value: "object": {message}'
    )


HOSTILE_SPECS: list[HostileSpec] = [
    # Query injection and odd characters in the meter id (it reaches InfluxDB queries).
    _meter_id("influxql-injection", "meter1' OR 1=1 --", '"meter1\' OR 1=1 --"'),
    _meter_id(
        "influxql-statement", "m1'; DROP MEASUREMENT x; --", '"m1\'; DROP MEASUREMENT x; --"'
    ),
    _meter_id("flux-injection", 'm") |> drop() //', '"m\\") |> drop() //"'),
    _meter_id("label-selector-injection", "m,x=y", '"m,x=y"'),
    _meter_id("newline-in-id", "meter1\nDROP", '"meter1\\nDROP"'),
    _meter_id("nul-in-id", "meter\x001", '"meter\\x001"'),
    _meter_id("non-ascii-id", "zähler-1", '"zähler-1"'),
    _meter_id("bidi-override-id", "meter\u202e1", '"meter\\u202e1"'),
    _meter_id("leading-dash-id", "-meter", '"-meter"'),
    _meter_id("path-traversal-id", "../../etc/passwd", '"../../etc/passwd"'),
    HostileSpec(
        "empty-id",
        spec(meterId=""),
        "spec.meterId",
        "FieldValueInvalid",
        'Invalid value: "": spec.meterId in body should be at least 1 chars long',
    ),
    HostileSpec(
        "oversized-id",
        spec(meterId="m" * 129),
        "spec.meterId",
        "FieldValueTooLong",
        "Too long: may not be more than 128 bytes",
    ),
    HostileSpec(
        "id-not-a-string",
        spec(meterId=42),
        "spec.meterId",
        "FieldValueTypeInvalid",
        'Invalid value: "integer": spec.meterId in body must be of type string: "integer"',
    ),
    # Required fields and closed sets.
    HostileSpec(
        "missing-meter-id",
        spec(meterId=...),
        "spec.meterId",
        "FieldValueRequired",
        "Required value",
    ),
    HostileSpec(
        "missing-meter-type",
        spec(meterType=...),
        "spec.meterType",
        "FieldValueRequired",
        "Required value",
    ),
    HostileSpec(
        "missing-start", spec(start=...), "spec.start", "FieldValueRequired", "Required value"
    ),
    HostileSpec("missing-end", spec(end=...), "spec.end", "FieldValueRequired", "Required value"),
    HostileSpec(
        "unknown-meter-type",
        spec(meterType="gas"),
        "spec.meterType",
        "FieldValueNotSupported",
        'Unsupported value: "gas": supported values: "electricity", "water"',
    ),
    HostileSpec(
        "unknown-model-type",
        spec(model={"type": "prophet"}),
        "spec.model.type",
        "FieldValueNotSupported",
        'Unsupported value: "prophet": supported values: "seasonal-residual", "lstm"',
    ),
    HostileSpec(
        "unknown-resolution",
        spec(model={"resolution": "1s"}),
        "spec.model.resolution",
        "FieldValueNotSupported",
        'Unsupported value: "1s": supported values: "15m", "30m", "1h"',
    ),
    # Dates: RFC 3339 only, compared as instants, at most ten years apart.
    HostileSpec(
        "not-a-date",
        spec(start="yesterday"),
        "spec.start",
        "FieldValueTypeInvalid",
        'Invalid value: "yesterday": spec.start in body must be of type date-time: "yesterday"',
    ),
    HostileSpec(
        "date-without-offset",
        spec(end="2023-12-31 23:59"),
        "spec.end",
        "FieldValueTypeInvalid",
        'Invalid value: "2023-12-31 23:59": spec.end in body must be of type date-time: '
        '"2023-12-31 23:59"',
    ),
    _rule(
        "reversed-dates",
        spec(start="2024-01-01T00:00:00Z", end="2023-01-01T00:00:00Z"),
        "end must be after start",
    ),
    _rule(
        "equal-dates",
        spec(start="2024-01-01T00:00:00Z", end="2024-01-01T00:00:00Z"),
        "end must be after start",
    ),
    _rule(
        # 10:00+02:00 is 08:00Z, before the start at 09:00Z: compared as instants, not text.
        "offset-hides-reversal",
        spec(start="2024-01-01T09:00:00Z", end="2024-01-01T10:00:00+02:00"),
        "end must be after start",
    ),
    _rule(
        "absurd-range",
        spec(start="1900-01-01T00:00:00Z", end="2024-01-01T00:00:00Z"),
        "the range from start to end must be at most 10 years",
    ),
    # Model settings outside their bounds.
    _bound("negative-epochs", "spec.model.epochs", -1, "greater than or equal to 1"),
    _bound("too-many-epochs", "spec.model.epochs", 501, "less than or equal to 500"),
    HostileSpec(
        "epochs-as-string",
        spec(model={"epochs": "many"}),
        "spec.model.epochs",
        "FieldValueTypeInvalid",
        'Invalid value: "string": spec.model.epochs in body must be of type integer: "string"',
    ),
    _bound("zero-learning-rate", "spec.model.learningRate", 0, "greater than 0"),
    _bound("huge-learning-rate", "spec.model.learningRate", 2, "less than or equal to 1"),
    _bound("short-lookback", "spec.model.lookbackHours", 1, "greater than or equal to 24"),
    _bound("long-horizon", "spec.model.horizonHours", 169, "less than or equal to 168"),
    _bound("tiny-batch", "spec.model.batchSize", 1, "greater than or equal to 8"),
    _bound("huge-holdout", "spec.model.holdoutDays", 91, "less than or equal to 90"),
    _bound("negative-seed", "spec.model.seed", -1, "greater than or equal to 0"),
    # Job settings outside their bounds.
    _bound("huge-backoff", "spec.backoffLimit", 1000000, "less than or equal to 20"),
    _bound("zero-deadline", "spec.activeDeadlineSeconds", 0, "greater than or equal to 1"),
    _bound("negative-ttl", "spec.ttlSecondsAfterFinished", -1, "greater than or equal to 0"),
    HostileSpec(
        "suspend-as-string",
        spec(suspend="yes"),
        "spec.suspend",
        "FieldValueTypeInvalid",
        'Invalid value: "string": spec.suspend in body must be of type boolean: "string"',
    ),
    # Names that reach other objects (sources, queues, resources).
    _pattern(
        "source-name-not-a-dns-label",
        "spec.source.name",
        "Evil Host",
        '"Evil Host"',
        DNS_LABEL_PATTERN,
    ),
    _pattern(
        "bucket-injection",
        "spec.source.bucket",
        'b") |> drop()',
        '"b\\") |> drop()"',
        INFLUX_NAME_PATTERN,
    ),
    _pattern(
        "database-injection", "spec.source.database", "db; DROP", '"db; DROP"', INFLUX_NAME_PATTERN
    ),
    _pattern(
        "queue-not-a-dns-label", "spec.queueName", "Fast_Lane", '"Fast_Lane"', DNS_LABEL_PATTERN
    ),
    _pattern("bad-quantity", "spec.resources.limits.memory", "lots", '"lots"', QUANTITY_PATTERN),
    _rule("priority-without-queue", spec(priorityClass="high"), "priorityClass needs queueName"),
]
