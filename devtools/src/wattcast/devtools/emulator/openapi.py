"""A minimal OpenAPI v3 description of what the emulator serves, for kubectl's sake.

kubectl (1.27+) reads ``/openapi/v3`` to learn whether the server validates fields itself:
when a resource's PATCH operation lists the ``fieldValidation`` query parameter, ``kubectl
apply`` (default ``--validate=strict``) sends ``fieldValidation=Strict`` and skips client-side
validation, which would need the full OpenAPI schemas of every kind. So each served
group-version gets a document whose operations carry ``x-kubernetes-group-version-kind`` and
the ``fieldValidation``/``dryRun``/``fieldManager`` parameters; custom resources also get their
CRD schema as a component (what ``kubectl explain`` reads). Built-in kinds get no schema, and
no operation offers strategic-merge bodies, so kubectl builds strategic merge patches for them
from its compiled-in types, as it does against servers without OpenAPI.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from wattcast.devtools.emulator.resources import ResourceType

_QUERY_PARAMS = ("fieldValidation", "dryRun", "fieldManager", "pretty")
_PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
)


def empty_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (wattcast emulator)", "version": "v1.33.0"},
        "paths": {},
        "components": {"schemas": {}},
    }


def digest(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()


def _operation(rtype: ResourceType, action: str, body_types: tuple[str, ...]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{action}{rtype.kind}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": rtype.group,
            "version": rtype.version,
            "kind": rtype.kind,
        },
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for name in _QUERY_PARAMS
        ],
        "responses": {"200": {"description": "OK"}},
    }
    if body_types:
        op["requestBody"] = {"content": {t: {"schema": {}} for t in body_types}}
    return op


def _schema_name(rtype: ResourceType) -> str:
    group = ".".join(reversed(rtype.group.split("."))) if rtype.group else "io.k8s.api.core"
    return f"{group}.{rtype.version}.{rtype.kind}"


def add_resource(doc: dict[str, Any], rtype: ResourceType) -> None:
    """Add the collection and item paths (and /status) of ``rtype`` to ``doc``."""
    prefix = f"/apis/{rtype.group}/{rtype.version}" if rtype.group else "/api/v1"
    if rtype.namespaced:
        prefix += "/namespaces/{namespace}"
    collection = f"{prefix}/{rtype.plural}"
    item = f"{collection}/{{name}}"
    doc["paths"][collection] = {
        "get": _operation(rtype, "list", ()),
        "post": _operation(rtype, "post", ("application/json",)),
    }
    doc["paths"][item] = {
        "get": _operation(rtype, "get", ()),
        "put": _operation(rtype, "put", ("application/json",)),
        "patch": _operation(rtype, "patch", _PATCH_TYPES),
        "delete": _operation(rtype, "delete", ()),
    }
    if rtype.status_subresource:
        doc["paths"][f"{item}/status"] = {
            "get": _operation(rtype, "get", ()),
            "put": _operation(rtype, "put", ("application/json",)),
            "patch": _operation(rtype, "patch", _PATCH_TYPES),
        }
    if rtype.custom and rtype.raw_schema is not None:
        schema = dict(rtype.raw_schema)
        schema["x-kubernetes-group-version-kind"] = [
            {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
        ]
        doc["components"]["schemas"][_schema_name(rtype)] = schema
