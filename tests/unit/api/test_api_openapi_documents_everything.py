"""The OpenAPI document names every endpoint, field and error response, from the models."""

from __future__ import annotations

from typing import Any

import pytest

from wattcast.api.main import create_app
from wattcast.api.models import IDEMPOTENCY_KEY_PATTERN
from wattcast.crd import constants
from wattcast.crd.names import DNS_LABEL_PATTERN

_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    schema: dict[str, Any] = create_app().openapi()
    return schema


def _operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in openapi["paths"].items()
        for method, op in item.items()
        if method in _METHODS
    ]


def test_every_endpoint_is_there(openapi: dict[str, Any]) -> None:
    found = {(m.upper(), p) for p, m, _ in _operations(openapi)}
    assert found >= {
        ("POST", "/trainmodel/v2/"),
        ("GET", "/trainmodel/status/{task_id}"),
        ("POST", "/v1/trainingjobs"),
        ("GET", "/v1/trainingjobs"),
        ("GET", "/v1/trainingjobs/{name}"),
        ("DELETE", "/v1/trainingjobs/{name}"),
        ("POST", "/v1/trainingjobs/{name}/suspend"),
        ("POST", "/v1/trainingjobs/{name}/resume"),
        ("POST", "/v1/trainingjobs/{name}/cancel"),
        ("GET", "/v1/events"),
        ("GET", "/v1/trainingjobs/{name}/events"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
    }
    assert "/" not in openapi["paths"], "`/` is kept for the dashboard"


def test_protected_endpoints_document_their_errors(openapi: dict[str, Any]) -> None:
    for path, method, op in _operations(openapi):
        if path in {"/healthz", "/readyz", "/metrics"}:
            assert "security" not in op
            continue
        assert op.get("summary"), (method, path)
        assert op.get("security") == [{"HTTPBearer": []}], (method, path)
        for code in ("401", "403", "422", "503"):
            response = op["responses"].get(code)
            assert response is not None, (method, path, code)
            ref = response["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorPublic"), (method, path, code)


def test_every_field_of_every_schema_has_a_description(openapi: dict[str, Any]) -> None:
    undocumented = []
    for name, schema in openapi["components"]["schemas"].items():
        if name in {"HTTPValidationError", "ValidationError"}:
            continue  # FastAPI's own, never answered (our 422 is ErrorPublic)
        for field, prop in (schema.get("properties") or {}).items():
            if "description" not in prop:
                undocumented.append(f"{name}.{field}")
    assert undocumented == []


def test_parameters_are_documented(openapi: dict[str, Any]) -> None:
    for path, method, op in _operations(openapi):
        for param in op.get("parameters", []):
            assert param.get("description"), (method, path, param["name"])


def test_the_seed_request_carries_the_contracts_meter_id_rule(openapi: dict[str, Any]) -> None:
    meter_id = openapi["components"]["schemas"]["TrainModelCreate"]["properties"]["meter_id"]
    assert meter_id["maxLength"] == 128
    assert meter_id["pattern"].startswith("^[A-Za-z0-9]")


def test_every_trainingjob_name_in_a_path_follows_the_one_rule(openapi: dict[str, Any]) -> None:
    """`NamePath` (wattcast.api.deps) is the one declaration: the seed's task_id, the /v1
    routes, their event stream and the dashboard's model endpoint all take the same names."""
    schemas = {
        (method, path): param["schema"]
        for path, method, op in _operations(openapi)
        for param in op.get("parameters", [])
        # The forecast route names a meter, not a TrainingJob (tested below).
        if param["in"] == "path" and not path.startswith("/v1/forecasts/")
    }
    assert len(schemas) >= 7
    expected = {
        "type": "string",
        "minLength": 1,
        "maxLength": constants.MAX_NAME_LENGTH,
        "pattern": DNS_LABEL_PATTERN,
    }
    for where, schema in schemas.items():
        assert {k: schema.get(k) for k in expected} == expected, where


def test_the_idempotency_key_header_declares_its_pattern(openapi: dict[str, Any]) -> None:
    for path in ("/trainmodel/v2/", "/v1/trainingjobs"):
        (header,) = [p for p in openapi["paths"][path]["post"]["parameters"] if p["in"] == "header"]
        assert header["name"] == "idempotency-key"
        # Beside anyOf [string, null]: JSON Schema applies pattern and lengths to strings only.
        assert header["schema"]["pattern"] == IDEMPOTENCY_KEY_PATTERN
        assert header["schema"]["maxLength"] == 255


def test_the_forecast_route_takes_a_meter_type_and_a_meter_id(openapi: dict[str, Any]) -> None:
    op = openapi["paths"]["/v1/forecasts/{meterType}/{meterId}"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert set(params) == {"meterType", "meterId", "origin", "hours", "actualsHours"}
    meter_id = params["meterId"]["schema"]
    assert meter_id["maxLength"] == 128 and meter_id["pattern"].startswith("^[A-Za-z0-9]")
    assert params["hours"]["schema"]["anyOf"][0]["maximum"] == 168
    assert op["security"] == [{"HTTPBearer": []}]
