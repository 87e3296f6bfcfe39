"""Every TrainingJob spec the CRD refuses, in one table: the CRD's schema tests check that the
generated CRD refuses each one with the API server's message, and the API's tests send each one
to the REST API and expect a 422 naming the field, with nothing created.

So the API can never again accept what the CRD refuses (`epochs: true`, `epochs: "10"`, a
negative quantity, a request over its limit): a new refusal goes here and is checked both ways.

Each case is a change to a valid spec (REMOVED deletes a field). `field` is the field the API's
422 names, dotted camelCase under the spec (empty: the spec as a whole). `seed` says whether
the seed's `POST /trainmodel/v2/` body can carry the case (only meter_id, meter_type,
start_date and end_date exist there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REMOVED: Any = object()
VALID_SPEC: dict[str, Any] = {
    "meterId": "meter1",
    "meterType": "electricity",
    "start": "2023-01-01T00:00:00Z",
    "end": "2023-12-31T23:59:59Z",
}
METER_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
_SEED_NAMES = {
    "meterId": "meter_id",
    "meterType": "meter_type",
    "start": "start_date",
    "end": "end_date",
}


@dataclass(frozen=True)
class RefusedSpec:
    id: str
    changes: dict[str, Any]
    crd_says: str
    field: str

    def spec(self) -> dict[str, Any]:
        """The whole spec, as the CRD (and the /v1 API) takes it."""
        spec = {**VALID_SPEC, **self.changes}
        return {key: value for key, value in spec.items() if value is not REMOVED}

    @property
    def seed(self) -> bool:
        return set(self.changes) <= set(_SEED_NAMES)

    def seed_body(self) -> dict[str, Any]:
        """The seed's request body carrying the same spec (only when `seed`)."""
        return {_SEED_NAMES[key]: value for key, value in self.spec().items()}

    @property
    def seed_field(self) -> str:
        return _SEED_NAMES.get(self.field, self.field)


def _type(field: str, got: str, want: str) -> str:
    return f'spec.{field}: Invalid value: "{got}": spec.{field} in body must be of type {want}'


def _date_time(field: str, value: str) -> str:
    return f'spec.{field}: Invalid value: "{value}": spec.{field} in body must be of type date-time'


def _quantity(field: str, value: str) -> str:
    return f'spec.{field}: Invalid value: "{value}": spec.{field} in body should match'


REFUSED_SPECS: list[RefusedSpec] = [
    # meterId: injection strings, control characters, lengths, types
    RefusedSpec(
        "influxql-injection",
        {"meterId": "meter1' OR 1=1 --"},
        f"""spec.meterId: Invalid value: "meter1' OR 1=1 --": spec.meterId in body should """
        f"""match '{METER_PATTERN}'""",
        "meterId",
    ),
    RefusedSpec(
        "flux-injection",
        {"meterId": 'm") |> drop() //'},
        'spec.meterId: Invalid value: "m\\") |> drop() //": spec.meterId in body should match',
        "meterId",
    ),
    RefusedSpec(
        "newline-in-id",
        {"meterId": "meter1\nDROP"},
        'spec.meterId: Invalid value: "meter1\\nDROP": spec.meterId in body should match',
        "meterId",
    ),
    RefusedSpec(
        "nul-in-id", {"meterId": "meter\x001"}, "spec.meterId in body should match", "meterId"
    ),
    RefusedSpec(
        "path-traversal-id",
        {"meterId": "../../etc/passwd"},
        'spec.meterId: Invalid value: "../../etc/passwd": spec.meterId in body should match',
        "meterId",
    ),
    RefusedSpec(
        "empty-id",
        {"meterId": ""},
        'spec.meterId: Invalid value: "": spec.meterId in body should be at least 1 chars long',
        "meterId",
    ),
    RefusedSpec(
        "oversized-id",
        {"meterId": "m" * 129},
        "spec.meterId: Too long: may not be more than 128 bytes",
        "meterId",
    ),
    RefusedSpec("id-as-number", {"meterId": 5}, _type("meterId", "integer", "string"), "meterId"),
    RefusedSpec(
        "missing-meter-id", {"meterId": REMOVED}, "spec.meterId: Required value", "meterId"
    ),
    # meterType
    RefusedSpec(
        "unknown-meter-type",
        {"meterType": "gas"},
        'spec.meterType: Unsupported value: "gas": supported values: "electricity", "water"',
        "meterType",
    ),
    RefusedSpec(
        "meter-type-as-number",
        {"meterType": 1},
        _type("meterType", "integer", "string"),
        "meterType",
    ),
    # start and end: RFC 3339 with an offset, as strings; a non-empty range of at most 10 years
    RefusedSpec("missing-start", {"start": REMOVED}, "spec.start: Required value", "start"),
    RefusedSpec("not-a-date", {"start": "yesterday"}, _date_time("start", "yesterday"), "start"),
    RefusedSpec(
        "unix-time-number",
        {"start": 1672531200},
        "spec.start in body must be of type date-time",
        "start",
    ),
    RefusedSpec(
        "unix-time-string", {"start": "1672531200"}, _date_time("start", "1672531200"), "start"
    ),
    RefusedSpec("date-only", {"start": "2023-01-01"}, _date_time("start", "2023-01-01"), "start"),
    RefusedSpec(
        "space-for-t",
        {"start": "2023-01-01 00:00:00Z"},
        _date_time("start", "2023-01-01 00:00:00Z"),
        "start",
    ),
    RefusedSpec(
        "naive-time",
        {"start": "2023-01-01T00:00:00"},
        _date_time("start", "2023-01-01T00:00:00"),
        "start",
    ),
    RefusedSpec(
        "lower-case-t-and-z",
        {"start": "2023-01-01t00:00:00z"},
        "Invalid date-time formatted string 2023-01-01t00:00:00z",
        "start",
    ),
    RefusedSpec(
        "reversed-dates",
        {"start": "2024-01-01T00:00:00Z", "end": "2023-01-01T00:00:00Z"},
        'spec: Invalid value: "object": end must be after start',
        "end",
    ),
    RefusedSpec(
        "equal-dates",
        {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        'spec: Invalid value: "object": end must be after start',
        "end",
    ),
    RefusedSpec(
        "absurd-range",
        {"start": "1900-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        'spec: Invalid value: "object": the range from start to end must be at most 10 years',
        "end",
    ),
    RefusedSpec(
        "just-over-ten-years",
        {"start": "2014-01-01T00:00:00Z", "end": "2024-01-01T12:00:01Z"},
        'spec: Invalid value: "object": the range from start to end must be at most 10 years',
        "end",
    ),
    RefusedSpec(
        "offset-hides-reversal",
        # 10:00+02:00 is 08:00Z, before the start at 09:00Z: compared as instants, not text.
        {"start": "2024-01-01T09:00:00Z", "end": "2024-01-01T10:00:00+02:00"},
        'spec: Invalid value: "object": end must be after start',
        "end",
    ),
    # model: bounds and JSON types (no bool or string for a number, no number for a bool)
    RefusedSpec(
        "negative-epochs",
        {"model": {"epochs": -1}},
        "spec.model.epochs: Invalid value: -1: spec.model.epochs in body should be greater "
        "than or equal to 1",
        "model.epochs",
    ),
    RefusedSpec(
        "too-many-epochs",
        {"model": {"epochs": 501}},
        "spec.model.epochs in body should be less than or equal to 500",
        "model.epochs",
    ),
    RefusedSpec(
        "epochs-as-word",
        {"model": {"epochs": "many"}},
        _type("model.epochs", "string", "integer"),
        "model.epochs",
    ),
    RefusedSpec(
        "epochs-as-numeric-string",
        {"model": {"epochs": "10"}},
        _type("model.epochs", "string", "integer"),
        "model.epochs",
    ),
    RefusedSpec(
        "epochs-as-bool",
        {"model": {"epochs": True}},
        _type("model.epochs", "boolean", "integer"),
        "model.epochs",
    ),
    RefusedSpec(
        "epochs-as-float",
        {"model": {"epochs": 2.5}},
        _type("model.epochs", "number", "integer"),
        "model.epochs",
    ),
    RefusedSpec(
        "zero-learning-rate",
        {"model": {"learningRate": 0}},
        "spec.model.learningRate: Invalid value: 0: spec.model.learningRate in body should be "
        "greater than 0",
        "model.learningRate",
    ),
    RefusedSpec(
        "learning-rate-as-string",
        {"model": {"learningRate": "0.01"}},
        _type("model.learningRate", "string", "number"),
        "model.learningRate",
    ),
    RefusedSpec(
        "learning-rate-as-bool",
        {"model": {"learningRate": True}},
        _type("model.learningRate", "boolean", "number"),
        "model.learningRate",
    ),
    RefusedSpec(
        "use-temperature-as-string",
        {"model": {"useTemperature": "yes"}},
        _type("model.useTemperature", "string", "boolean"),
        "model.useTemperature",
    ),
    RefusedSpec(
        "use-temperature-as-number",
        {"model": {"useTemperature": 1}},
        _type("model.useTemperature", "integer", "boolean"),
        "model.useTemperature",
    ),
    RefusedSpec(
        "unknown-model-type",
        {"model": {"type": "prophet"}},
        'spec.model.type: Unsupported value: "prophet"',
        "model.type",
    ),
    RefusedSpec("model-as-list", {"model": [1]}, _type("model", "array", "object"), "model"),
    # the rest of the spec
    RefusedSpec(
        "huge-backoff",
        {"backoffLimit": 1000000},
        "spec.backoffLimit: Invalid value: 1000000: spec.backoffLimit in body should be less "
        "than or equal to 20",
        "backoffLimit",
    ),
    RefusedSpec(
        "backoff-as-string",
        {"backoffLimit": "3"},
        _type("backoffLimit", "string", "integer"),
        "backoffLimit",
    ),
    RefusedSpec(
        "backoff-as-bool",
        {"backoffLimit": False},
        _type("backoffLimit", "boolean", "integer"),
        "backoffLimit",
    ),
    RefusedSpec(
        "suspend-as-string", {"suspend": "true"}, _type("suspend", "string", "boolean"), "suspend"
    ),
    RefusedSpec(
        "suspend-as-number", {"suspend": 0}, _type("suspend", "integer", "boolean"), "suspend"
    ),
    RefusedSpec(
        "deadline-as-string",
        {"activeDeadlineSeconds": "3600"},
        _type("activeDeadlineSeconds", "string", "integer"),
        "activeDeadlineSeconds",
    ),
    RefusedSpec(
        "source-name-not-a-label",
        {"source": {"name": "Evil Host"}},
        'spec.source.name: Invalid value: "Evil Host": spec.source.name in body should match',
        "source.name",
    ),
    RefusedSpec(
        "priority-without-queue",
        {"priorityClass": "high"},
        'spec: Invalid value: "object": priorityClass needs queueName',
        "",
    ),
    # resources: Kubernetes quantities, never negative, each request at most its limit
    RefusedSpec(
        "bad-quantity",
        {"resources": {"limits": {"memory": "lots"}}},
        _quantity("resources.limits.memory", "lots"),
        "resources.limits.memory",
    ),
    RefusedSpec(
        "negative-cpu",
        {"resources": {"limits": {"cpu": "-1"}}},
        _quantity("resources.limits.cpu", "-1"),
        "resources.limits.cpu",
    ),
    RefusedSpec(
        "negative-memory-request",
        {"resources": {"requests": {"memory": "-2Gi"}}},
        _quantity("resources.requests.memory", "-2Gi"),
        "resources.requests.memory",
    ),
    RefusedSpec(
        "signed-quantity",
        {"resources": {"requests": {"cpu": "+1"}}},
        _quantity("resources.requests.cpu", "+1"),
        "resources.requests.cpu",
    ),
    RefusedSpec(
        "lower-case-binary-suffix",
        {"resources": {"limits": {"memory": "1ki"}}},
        _quantity("resources.limits.memory", "1ki"),
        "resources.limits.memory",
    ),
    RefusedSpec(
        "fractional-exponent",
        {"resources": {"requests": {"cpu": "1e1.5"}}},
        _quantity("resources.requests.cpu", "1e1.5"),
        "resources.requests.cpu",
    ),
    RefusedSpec(
        "quantity-as-number",
        {"resources": {"limits": {"cpu": 2}}},
        _type("resources.limits.cpu", "integer", "string"),
        "resources.limits.cpu",
    ),
    RefusedSpec(
        "cpu-request-over-limit",
        {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}},
        'spec.resources: Invalid value: "object": requests.cpu must be at most limits.cpu',
        "resources",
    ),
    RefusedSpec(
        "memory-request-over-limit",
        # 2Gi is 2147483648 bytes, 2G is 2000000000: compared as quantities, not text.
        {"resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "2G"}}},
        'spec.resources: Invalid value: "object": requests.memory must be at most limits.memory',
        "resources",
    ),
    RefusedSpec(
        "resources-as-string",
        {"resources": "lots"},
        _type("resources", "string", "object"),
        "resources",
    ),
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
