"""Hostile and malformed requests get a 4xx with a field-level message and create nothing.

Each case asserts the status code, the field and words of the message, and then lists the
namespace on the (emulated) API server: it must still be empty.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest
from api_support import SEED_BODY
from testkit import TrainingJobs

V1_BODY: dict[str, Any] = {
    "meterId": "meter1",
    "meterType": "electricity",
    "start": "2023-01-01T00:00:00Z",
    "end": "2024-01-01T00:00:00Z",
}


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    status: int
    words: str
    field: str | None = None
    body: Any = None  # JSON body; or raw bytes in `content`
    content: bytes | None = None
    method: str = "POST"
    path: str = "/trainmodel/v2/"
    headers: dict[str, Any] = dataclasses.field(default_factory=dict)


def seed(**changes: Any) -> dict[str, Any]:
    body = {**SEED_BODY, **changes}
    return {k: v for k, v in body.items() if v is not ...}


def v1(**changes: Any) -> dict[str, Any]:
    return {**V1_BODY, **changes}


METER_ID_RULE = "letters, digits"

CASES = [
    # Injection strings in meter_id (it never reaches a query unchecked).
    Case("sql-injection", 422, METER_ID_RULE, "meter_id", seed(meter_id="meter1' OR '1'='1")),
    Case(
        "flux-injection",
        422,
        METER_ID_RULE,
        "meter_id",
        seed(meter_id='meter1") |> drop(columns: ["_value"])'),
    ),
    Case(
        "influxql-injection",
        422,
        METER_ID_RULE,
        "meter_id",
        seed(meter_id="m1'; DROP MEASUREMENT electricity_consumption; --"),
    ),
    Case("label-selector-injection", 422, METER_ID_RULE, "meter_id", seed(meter_id="m,x=y")),
    # Control and non-ASCII characters.
    Case("nul-byte", 422, METER_ID_RULE, "meter_id", seed(meter_id="meter\x00one")),
    Case("newline", 422, METER_ID_RULE, "meter_id", seed(meter_id="meter1\nX-Evil: 1")),
    Case("non-ascii", 422, METER_ID_RULE, "meter_id", seed(meter_id="zähler-1")),
    Case("bidi-override", 422, METER_ID_RULE, "meter_id", seed(meter_id="meter\u202e1")),
    Case("leading-dash", 422, METER_ID_RULE, "meter_id", seed(meter_id="-meter")),
    Case("too-long", 422, "at most 128", "meter_id", seed(meter_id="m" * 129)),
    Case("empty", 422, "at least 1", "meter_id", seed(meter_id="")),
    # Reversed, equal and absurd ranges.
    Case(
        "reversed-dates",
        422,
        "must be after start_date",
        "end_date",
        seed(start_date="2023-12-31T00:00:00Z", end_date="2023-01-01T00:00:00Z"),
    ),
    Case(
        "equal-dates",
        422,
        "must be after start_date",
        "end_date",
        seed(end_date=SEED_BODY["start_date"]),
    ),
    Case(
        "two-centuries",
        422,
        "at most 10 years",
        "end_date",
        seed(start_date="1900-01-01T00:00:00Z", end_date="2100-01-01T00:00:00Z"),
    ),
    Case(
        "year-1-to-9999",
        422,
        "at most 10 years",
        "end_date",
        seed(start_date="0001-01-01T00:00:00Z", end_date="9999-12-31T23:59:59Z"),
    ),
    Case("impossible-date", 422, "datetime", "start_date", seed(start_date="2023-02-30T00:00:00Z")),
    # Unknown meter_type, missing or extra fields, wrong types.
    Case(
        "unknown-meter-type", 422, "'electricity' or 'water'", "meter_type", seed(meter_type="gas")
    ),
    Case("missing-end-date", 422, "is required", "end_date", seed(end_date=...)),
    Case("extra-field", 422, "not a known field", "priority", seed(priority="high")),
    Case("meter-id-number", 422, "valid string", "meter_id", seed(meter_id=123)),
    Case("meter-id-object", 422, "valid string", "meter_id", seed(meter_id={"$ne": ""})),
    Case("meter-id-null", 422, "valid string", "meter_id", seed(meter_id=None)),
    Case("date-not-a-date", 422, "datetime", "start_date", seed(start_date="yesterday")),
    Case("body-is-a-list", 422, "valid dictionary", "body", [SEED_BODY]),
    Case("body-not-json", 422, "not valid JSON", None, content=b'{"meter_id": "m1",'),
    # Naive datetimes (which zone would they be in?).
    Case("naive-start", 422, "time zone", "start_date", seed(start_date="2023-01-01T00:00:00")),
    Case("date-only-end", 422, "time zone", "end_date", seed(end_date="2023-12-31")),
    # Huge bodies.
    Case(
        "huge-body",
        413,
        "larger than 65536 bytes",
        None,
        content=json.dumps(seed(padding="x" * 70_000)).encode(),
    ),
    # Traversal strings in task_id.
    Case(
        "traversal-encoded-slashes",
        404,
        "No endpoint",
        None,
        method="GET",
        path="/trainmodel/status/..%2F..%2Fetc%2Fpasswd",
    ),
    Case(
        "traversal-dots",
        422,
        "TrainingJob name",
        "task_id",
        method="GET",
        path="/trainmodel/status/%2E%2E",
    ),
    Case(
        "task-id-shell",
        422,
        "TrainingJob name",
        "task_id",
        method="GET",
        path="/trainmodel/status/x;rm%20-rf",
    ),
    Case(
        "task-id-too-long",
        422,
        "at most 63",
        "task_id",
        method="GET",
        path="/trainmodel/status/" + "a" * 64,
    ),
    # The resource API: unknown source, URLs and Secrets smuggled in, bad names and values.
    Case(
        "unknown-source",
        422,
        "unknown source 'elsewhere'",
        "source.name",
        v1(source={"name": "elsewhere"}),
        path="/v1/trainingjobs",
    ),
    Case(
        "source-with-url",
        422,
        "not a known field",
        "source.url",
        v1(source={"name": "archive", "url": "http://attacker.example"}),
        path="/v1/trainingjobs",
    ),
    Case(
        "source-with-secret",
        422,
        "not a known field",
        "source.tokenSecret",
        v1(source={"tokenSecret": {"name": "other", "key": "token"}}),
        path="/v1/trainingjobs",
    ),
    Case(
        "bucket-injection",
        422,
        "pattern",
        "source.bucket",
        v1(source={"bucket": 'energy") |> drop()'}),
        path="/v1/trainingjobs",
    ),
    Case("name-traversal", 422, "DNS-1123", "name", v1(name="../etc"), path="/v1/trainingjobs"),
    Case("name-uppercase", 422, "DNS-1123", "name", v1(name="Job1"), path="/v1/trainingjobs"),
    Case(
        "absurd-epochs",
        422,
        "less than or equal to 500",
        "model.epochs",
        v1(model={"epochs": 10**9}),
        path="/v1/trainingjobs",
    ),
    Case(
        "quantity-injection",
        422,
        "pattern",
        "resources.limits.cpu",
        v1(resources={"limits": {"cpu": "1; rm -rf /"}}),
        path="/v1/trainingjobs",
    ),
    Case(
        "v1-reversed",
        422,
        "must be after start",
        "end",
        v1(end="2022-01-01T00:00:00Z"),
        path="/v1/trainingjobs",
    ),
    Case(
        "v1-naive", 422, "time zone", "start", v1(start="2023-01-01 00:00"), path="/v1/trainingjobs"
    ),
    Case(
        "idempotency-key-non-ascii",
        422,
        "printable ASCII",
        "Idempotency-Key",
        seed(),
        headers={"Idempotency-Key": "cl\xe9".encode("latin-1")},
    ),
    Case(
        "idempotency-key-too-long",
        422,
        "printable ASCII",
        "Idempotency-Key",
        seed(),
        headers={"Idempotency-Key": "k" * 256},
    ),
    Case(
        "foreign-namespace",
        403,
        "not served by this API",
        None,
        seed(),
        path="/trainmodel/v2/?namespace=kube-system",
    ),
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_and_creates_nothing(
    api: httpx.Client, cluster: TrainingJobs, case: Case
) -> None:
    headers = dict(case.headers)
    if case.content is not None:
        headers["Content-Type"] = "application/json"
        response = api.request(case.method, case.path, content=case.content, headers=headers)
    elif case.method == "GET":
        response = api.request(case.method, case.path, headers=headers)
    else:
        response = api.request(case.method, case.path, json=case.body, headers=headers)
    assert response.status_code == case.status, response.text
    body = response.json()
    assert case.words in response.text, body
    assert body["detail"]
    if case.field is not None:
        assert case.field in [e["field"] for e in body["errors"]], body
    assert cluster.items() == []
