"""The generated CRD is a valid apiextensions.k8s.io/v1 object with a structural schema whose
every string and list is bounded (a real API server's CEL cost budget depends on it)."""

from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest

from wattcast.crd import generate

CRD = generate.crd()
VERSION = CRD["spec"]["versions"][0]
SCHEMA = VERSION["schema"]["openAPIV3Schema"]


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path or "<root>", node
    for name, sub in node.get("properties", {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


NODES = [(p, n) for p, n in walk(SCHEMA) if p not in ("<root>", ".metadata")]


@pytest.mark.parametrize("kube_version", ["1.33.0", "1.34.0", "1.35.0"])
def test_crd_validates_against_the_kubernetes_schema(kube_version: str) -> None:
    kubernetes_validate.validate(CRD, kube_version, strict=True)


@pytest.mark.parametrize(("path", "node"), NODES, ids=[p for p, _ in NODES])
def test_every_node_is_structural(path: str, node: dict[str, Any]) -> None:
    forbidden = {"$ref", "$defs", "title", "anyOf", "oneOf", "allOf", "patternProperties"}
    assert not forbidden & node.keys(), f"{path}: {forbidden & node.keys()}"
    assert node.get("type") in {"string", "integer", "number", "boolean", "object", "array"}
    assert node.get("description"), f"{path} has no description (it becomes kubectl explain)"


@pytest.mark.parametrize(("path", "node"), NODES, ids=[p for p, _ in NODES])
def test_every_string_and_list_is_bounded(path: str, node: dict[str, Any]) -> None:
    if node["type"] == "string":
        assert "maxLength" in node or "enum" in node, f"{path}: string without maxLength"
    if node["type"] == "array":
        assert "maxItems" in node, f"{path}: list without maxItems"
    if node["type"] == "object" and "additionalProperties" in node:
        assert "maxProperties" in node, f"{path}: map without maxProperties"


def test_status_subresource_printer_columns_and_names() -> None:
    assert VERSION["subresources"] == {"status": {}}
    columns = [c["name"] for c in VERSION["additionalPrinterColumns"] if not c.get("priority")]
    assert columns == ["Meter", "Type", "Phase", "Progress", "Age"]
    names = CRD["spec"]["names"]
    assert names["shortNames"] == ["tj"]
    assert names["categories"] == ["wattcast"]
    assert [f["jsonPath"] for f in VERSION["selectableFields"]] == [
        ".spec.meterId",
        ".spec.meterType",
        ".status.phase",
    ]


def test_cel_rules_use_timestamp_and_duration_never_string_comparison() -> None:
    rules = [r["rule"] for r in SCHEMA["properties"]["spec"]["x-kubernetes-validations"]]
    date_rules = [r for r in rules if "self.end" in r and "oldSelf" not in r]
    assert date_rules, "no date rules"
    for rule in date_rules:
        assert "timestamp(self.end)" in rule and "timestamp(self.start)" in rule
    assert any("duration('87660h')" in r for r in date_rules)


def test_immutability_rule_covers_every_spec_field_but_suspend() -> None:
    rule = generate._immutability_rule()["rule"]
    for name in SCHEMA["properties"]["spec"]["properties"]:
        assert (f"self.{name} ==" in rule) == (name != "suspend"), name


def test_conditions_are_a_map_keyed_by_type() -> None:
    conditions = SCHEMA["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in conditions["items"]["required"]
