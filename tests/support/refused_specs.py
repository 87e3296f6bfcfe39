"""Every TrainingJob spec the CRD refuses, in one table, with the real API server's words.

One table for every test that proves a bad spec is refused, so the REST API can never again
accept what the CRD refuses (`epochs: true`, `epochs: "10"`, a negative quantity, a request over
its limit), and no refusal is checked one way only:

- the CRD's tests create each spec on the real kube-apiserver and expect exactly its cause
  (tests/integration/crd);
- the contract's unit tests validate each with the models the REST API uses
  (tests/unit/crd), and the REST API's tests send each to both families and expect a 422
  naming the field, with nothing created (tests/integration/api).

A new refusal goes here. Each row is a change to VALID_SPEC (REMOVED deletes a field). `blamed`
is the field the API server blames (`spec` itself for a CEL rule on the spec), `reason` and
`message` its cause word for word, as in the Status' `details.causes` (`kubectl apply` prints
"<blamed>: <message>"); where a structural error keeps the CEL rules from running, the server
adds RULES_NOT_CHECKED. `field` is the field the REST API's 422 names, dotted camelCase under
the spec ("": the spec as a whole). `seed` says whether the seed's `POST /trainmodel/v2/` body
can carry the case (only meter_id, meter_type, start_date and end_date exist there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wattcast.crd.names import DNS_LABEL_PATTERN
from wattcast.crd.trainingjob import QUANTITY_PATTERN

METER_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
INFLUX_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
REMOVED: Any = object()

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
_SEED_NAMES = {
    "meterId": "meter_id",
    "meterType": "meter_type",
    "start": "start_date",
    "end": "end_date",
}


@dataclass(frozen=True)
class RefusedSpec:
    """A spec the CRD refuses with 422 Invalid, the cause the API server gives, and the field
    the REST API names (`api_field`, where it is not the blamed one under the spec)."""

    id: str
    changes: dict[str, Any]
    blamed: str
    reason: str
    message: str
    api_field: str | None = None

    def spec(self) -> dict[str, Any]:
        """The whole spec, in its JSON (camelCase) form, as the CRD and the /v1 API take it."""
        merged = {**VALID_SPEC, **self.changes}
        return {key: value for key, value in merged.items() if value is not REMOVED}

    @property
    def cause(self) -> dict[str, str]:
        """The cause as it appears in the Status' `details.causes`."""
        return {"reason": self.reason, "field": self.blamed, "message": self.message}

    @property
    def field(self) -> str:
        if self.api_field is not None:
            return self.api_field
        return "" if self.blamed == "spec" else self.blamed.removeprefix("spec.")

    @property
    def seed(self) -> bool:
        return set(self.changes) <= set(_SEED_NAMES)

    def seed_body(self) -> dict[str, Any]:
        """The seed's request body carrying the same spec (only when `seed`)."""
        return {_SEED_NAMES[key]: value for key, value in self.spec().items()}

    @property
    def seed_field(self) -> str:
        return _SEED_NAMES.get(self.field, self.field)


def _nested(path: str, value: Any) -> dict[str, Any]:
    """{"a.b.c": v} as {"a": {"b": {"c": v}}}."""
    head, _, rest = path.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _invalid(case: str, field: str, value: Any, message: str) -> RefusedSpec:
    """`field` (spec.x.y) set to `value`, refused as FieldValueInvalid with `message`."""
    changes = _nested(field.removeprefix("spec."), value)
    return RefusedSpec(case, changes, field, "FieldValueInvalid", message)


def _pattern(case: str, field: str, value: str, quoted: str, pattern: str) -> RefusedSpec:
    """A string that does not match its pattern; `quoted` is the value as Go's %q prints it."""
    message = f"Invalid value: {quoted}: {field} in body should match '{pattern}'"
    return _invalid(case, field, value, message)


def _meter_id(case: str, value: str, quoted: str) -> RefusedSpec:
    return _pattern(case, "spec.meterId", value, quoted, METER_ID_PATTERN)


def _quantity(case: str, field: str, value: str) -> RefusedSpec:
    return _pattern(case, field, value, f'"{value}"', QUANTITY_PATTERN)


def _bound(case: str, field: str, value: int | float, words: str) -> RefusedSpec:
    return _invalid(
        case, field, value, f"Invalid value: {value}: {field} in body should be {words}"
    )


def _type(case: str, field: str, value: Any, got: str, want: str) -> RefusedSpec:
    """A JSON value of the wrong type: `got` is the type (or, for a date-time, the value)."""
    message = f'Invalid value: "{got}": {field} in body must be of type {want}: "{got}"'
    changes = _nested(field.removeprefix("spec."), value)
    return RefusedSpec(case, changes, field, "FieldValueTypeInvalid", message)


def _date(case: str, value: str) -> RefusedSpec:
    return _type(case, "spec.start", value, value, "date-time")


def _required(case: str, name: str) -> RefusedSpec:
    return RefusedSpec(
        case, {name: REMOVED}, f"spec.{name}", "FieldValueRequired", "Required value"
    )


def _rule(
    case: str, changes: dict[str, Any], message: str, on: str = "spec", api_field: str = ""
) -> RefusedSpec:
    """A CEL rule of `on` (the spec, or spec.resources) that the spec breaks."""
    text = f'Invalid value: "object": {message}'
    named = api_field or ("" if on == "spec" else on.removeprefix("spec."))
    return RefusedSpec(case, changes, on, "FieldValueInvalid", text, named)


REFUSED_SPECS: list[RefusedSpec] = [
    # meterId: query injection and odd characters (it reaches InfluxDB queries), lengths, types.
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
    _invalid(
        "empty-id",
        "spec.meterId",
        "",
        'Invalid value: "": spec.meterId in body should be at least 1 chars long',
    ),
    RefusedSpec(
        "oversized-id",
        {"meterId": "m" * 129},
        "spec.meterId",
        "FieldValueTooLong",
        "Too long: may not be more than 128 bytes",
    ),
    _type("id-as-number", "spec.meterId", 42, "integer", "string"),
    # Required fields and closed sets.
    _required("missing-meter-id", "meterId"),
    _required("missing-meter-type", "meterType"),
    _required("missing-start", "start"),
    _required("missing-end", "end"),
    RefusedSpec(
        "unknown-meter-type",
        {"meterType": "gas"},
        "spec.meterType",
        "FieldValueNotSupported",
        'Unsupported value: "gas": supported values: "electricity", "water"',
    ),
    _type("meter-type-as-number", "spec.meterType", 1, "integer", "string"),
    RefusedSpec(
        "unknown-model-type",
        {"model": {"type": "prophet"}},
        "spec.model.type",
        "FieldValueNotSupported",
        'Unsupported value: "prophet": supported values: "seasonal-residual", "lstm"',
    ),
    RefusedSpec(
        "unknown-resolution",
        {"model": {"resolution": "1s"}},
        "spec.model.resolution",
        "FieldValueNotSupported",
        'Unsupported value: "1s": supported values: "15m", "30m", "1h"',
    ),
    # Dates: RFC 3339 strings with an offset, compared as instants, at most ten years apart.
    _date("not-a-date", "yesterday"),
    _type("unix-time-number", "spec.start", 1672531200, "int64", "date-time"),
    _date("unix-time-string", "1672531200"),
    _date("date-only", "2023-01-01"),
    _date("space-for-t", "2023-01-01 00:00:00Z"),
    _date("naive-time", "2023-01-01T00:00:00"),
    _type("date-without-offset", "spec.end", "2023-12-31 23:59", "2023-12-31 23:59", "date-time"),
    _rule(
        # Go's time format takes no lower-case T or Z, so the rules cannot read the start.
        "lower-case-t-and-z",
        {"start": "2023-01-01t00:00:00z"},
        "Invalid date-time formatted string 2023-01-01t00:00:00z: parsing time "
        '"2023-01-01t00:00:00z" as "2006-01-02T15:04:05": cannot parse "t00:00:00z" as "T" '
        "evaluating rule: end must be after start",
        api_field="start",
    ),
    _rule(
        "reversed-dates",
        {"start": "2024-01-01T00:00:00Z", "end": "2023-01-01T00:00:00Z"},
        "end must be after start",
        api_field="end",
    ),
    _rule(
        "equal-dates",
        {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        "end must be after start",
        api_field="end",
    ),
    _rule(
        # 10:00+02:00 is 08:00Z, before the start at 09:00Z: compared as instants, not text.
        "offset-hides-reversal",
        {"start": "2024-01-01T09:00:00Z", "end": "2024-01-01T10:00:00+02:00"},
        "end must be after start",
        api_field="end",
    ),
    _rule(
        "absurd-range",
        {"start": "1900-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        "the range from start to end must be at most 10 years",
        api_field="end",
    ),
    _rule(
        "just-over-ten-years",
        {"start": "2014-01-01T00:00:00Z", "end": "2024-01-01T12:00:01Z"},
        "the range from start to end must be at most 10 years",
        api_field="end",
    ),
    # Model settings: bounds and JSON types (no bool or string for a number, no number for a
    # bool).
    _bound("negative-epochs", "spec.model.epochs", -1, "greater than or equal to 1"),
    _bound("too-many-epochs", "spec.model.epochs", 501, "less than or equal to 500"),
    _type("epochs-as-word", "spec.model.epochs", "many", "string", "integer"),
    _type("epochs-as-numeric-string", "spec.model.epochs", "10", "string", "integer"),
    _type("epochs-as-bool", "spec.model.epochs", True, "boolean", "integer"),
    _type("epochs-as-float", "spec.model.epochs", 2.5, "number", "integer"),
    _bound("zero-learning-rate", "spec.model.learningRate", 0, "greater than 0"),
    _bound("huge-learning-rate", "spec.model.learningRate", 2, "less than or equal to 1"),
    _type("learning-rate-as-string", "spec.model.learningRate", "0.01", "string", "number"),
    _type("learning-rate-as-bool", "spec.model.learningRate", True, "boolean", "number"),
    _type("use-temperature-as-string", "spec.model.useTemperature", "yes", "string", "boolean"),
    _type("use-temperature-as-number", "spec.model.useTemperature", 1, "integer", "boolean"),
    _bound("short-lookback", "spec.model.lookbackHours", 1, "greater than or equal to 24"),
    _bound("long-horizon", "spec.model.horizonHours", 169, "less than or equal to 168"),
    _bound("tiny-batch", "spec.model.batchSize", 1, "greater than or equal to 8"),
    _bound("huge-holdout", "spec.model.holdoutDays", 91, "less than or equal to 90"),
    _bound("negative-seed", "spec.model.seed", -1, "greater than or equal to 0"),
    _type("model-as-list", "spec.model", [1], "array", "object"),
    # Job settings.
    _bound("huge-backoff", "spec.backoffLimit", 1000000, "less than or equal to 20"),
    _type("backoff-as-string", "spec.backoffLimit", "3", "string", "integer"),
    _type("backoff-as-bool", "spec.backoffLimit", False, "boolean", "integer"),
    _bound("zero-deadline", "spec.activeDeadlineSeconds", 0, "greater than or equal to 1"),
    _type("deadline-as-string", "spec.activeDeadlineSeconds", "3600", "string", "integer"),
    _bound("negative-ttl", "spec.ttlSecondsAfterFinished", -1, "greater than or equal to 0"),
    _type("suspend-as-string", "spec.suspend", "true", "string", "boolean"),
    _type("suspend-as-number", "spec.suspend", 0, "integer", "boolean"),
    # Names that reach other objects (sources, queues).
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
    _rule("priority-without-queue", {"priorityClass": "high"}, "priorityClass needs queueName"),
    # Resources: Kubernetes quantities, never negative, each request at most its limit.
    _quantity("bad-quantity", "spec.resources.limits.memory", "lots"),
    _quantity("negative-cpu", "spec.resources.limits.cpu", "-1"),
    _quantity("negative-memory-request", "spec.resources.requests.memory", "-2Gi"),
    _quantity("signed-quantity", "spec.resources.requests.cpu", "+1"),
    _quantity("lower-case-binary-suffix", "spec.resources.limits.memory", "1ki"),
    _quantity("fractional-exponent", "spec.resources.requests.cpu", "1e1.5"),
    _type("quantity-as-number", "spec.resources.limits.cpu", 2, "integer", "string"),
    _rule(
        "cpu-request-over-limit",
        {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}},
        "requests.cpu must be at most limits.cpu",
        on="spec.resources",
    ),
    _rule(
        # 2Gi is 2147483648 bytes, 2G is 2000000000: compared as quantities, not text.
        "memory-request-over-limit",
        {"resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "2G"}}},
        "requests.memory must be at most limits.memory",
        on="spec.resources",
    ),
    _type("resources-as-string", "spec.resources", "lots", "string", "object"),
]

# Specs both the CRD and the contract accept, near the edges of the refused ones.
ACCEPTED_SPECS: dict[str, dict[str, Any]] = {
    "learning-rate-as-integer": {"model": {"learningRate": 1}},
    # The API server reads a whole JSON number as an integer.
    "epochs-as-whole-float": {"model": {"epochs": 10.0}},
    "request-equal-to-limit-in-other-units": {
        "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "1024Mi"}}
    },
    "request-below-limit": {"resources": {"requests": {"cpu": "500m"}, "limits": {"cpu": "1"}}},
    "only-a-request": {"resources": {"requests": {"cpu": "250m", "memory": "1e3"}}},
    "mixed-offsets": {"start": "2023-01-01T00:00:00Z", "end": "2023-06-01T00:00:00+01:00"},
    "nanosecond-fraction": {"start": "2023-01-01T00:00:00.123456789Z"},
    "priority-with-queue": {"priorityClass": "high", "queueName": "training"},
}
