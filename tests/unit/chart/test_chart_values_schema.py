"""values.schema.json refuses unknown and bad values, and values.yaml documents every value.

The schema must close every object (`additionalProperties: false`, or a typed schema for free
maps such as labels; Kubernetes objects passed through, like affinity, are marked and checked by
the rendering tests instead). values.yaml and every ci/ value set must pass it; each invalid
value file below must fail both jsonschema and `helm template`, naming the bad value.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "wattcast"
HELM = ROOT / ".venv" / "bin" / "helm"
SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())
PASS_THROUGH = "pass-through Kubernetes object"


def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(SCHEMA)


def merged(overrides: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of a value file over values.yaml (maps merge, everything else replaces)."""

    def merge(base: Any, top: Any) -> Any:
        if isinstance(base, dict) and isinstance(top, dict):
            out = dict(base)
            for key, value in top.items():
                out[key] = merge(base.get(key), value)
            return out
        return copy.deepcopy(top)

    result: dict[str, Any] = merge(DEFAULTS, overrides)
    return result


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        node = SCHEMA["$defs"][name]
    return node


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_every_object_in_the_schema_is_closed() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for n, item in enumerate(node):
                walk(item, f"{where}[{n}]")
            return
        if not isinstance(node, dict):
            return
        if node.get("type") == "object" and node.get("$comment") != PASS_THROUGH:
            assert "additionalProperties" in node, f"{where}: object without additionalProperties"
            if "properties" in node:
                assert node["additionalProperties"] is False, f"{where}: open object"
            else:
                assert isinstance(node["additionalProperties"], dict), f"{where}: untyped map"
        for key, value in node.items():
            walk(value, f"{where}/{key}")

    walk(SCHEMA, "#")


def test_values_yaml_passes_the_schema() -> None:
    errors = [e.message for e in validator().iter_errors(DEFAULTS)]
    assert not errors


@pytest.mark.parametrize(
    "values_file", sorted((CHART / "ci").glob("*-values.yaml")), ids=lambda p: p.stem
)
def test_ci_value_sets_pass_the_schema(values_file: Path) -> None:
    values = merged(yaml.safe_load(values_file.read_text()))
    errors = [e.message for e in validator().iter_errors(values)]
    assert not errors


INVALID_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown-top-level-key": ({"operatr": {"replicaCount": 1}}, "operatr"),
    "unknown-nested-key": ({"api": {"ingress": {"hostname": "x"}}}, "hostname"),
    "privilege-escalation": (
        {"containerSecurityContext": {"allowPrivilegeEscalation": True}},
        "allowPrivilegeEscalation",
    ),
    "root-user": ({"podSecurityContext": {"runAsUser": 0}}, "runAsUser"),
    "capabilities-kept": (
        {"containerSecurityContext": {"capabilities": {"drop": ["NET_RAW"]}}},
        "drop",
    ),
    "bad-access-mode": ({"models": {"accessMode": "ReadManyWriteOnce"}}, "accessMode"),
    "bad-dialect": ({"influx": {"default": {"dialect": "sql"}}}, "dialect"),
    "source-without-url": ({"influx": {"sources": [{"name": "legacy"}]}}, "url"),
    "source-with-a-token": (
        {"influx": {"sources": [{"name": "x", "url": "http://x:8086", "token": "secret"}]}},
        "token",
    ),
    "bad-namespace": ({"trainingNamespaces": ["Energy_Team"]}, "trainingNamespaces"),
    "string-replicas": ({"operator": {"replicaCount": "two"}}, "replicaCount"),
    "bad-log-format": ({"operator": {"logFormat": "xml"}}, "logFormat"),
    "bad-digest": ({"image": {"digest": "latest"}}, "digest"),
    "bad-pull-policy": ({"trainer": {"image": {"pullPolicy": "Sometimes"}}}, "pullPolicy"),
    "bad-port": ({"operator": {"metricsPort": 70000}}, "metricsPort"),
    "flux-default-without-bucket": (
        {"influx": {"default": {"url": "http://influx:8086", "bucket": ""}}},
        "bucket",
    ),
    "influxql-source-without-database": (
        {"influx": {"sources": [{"name": "v1", "url": "http://v1:8086", "dialect": "influxql"}]}},
        "database",
    ),
    "bad-quantity": ({"api": {"resources": {"limits": {"memory": "lots"}}}}, "memory"),
}


@pytest.mark.parametrize("case", sorted(INVALID_VALUES), ids=sorted(INVALID_VALUES))
def test_invalid_value_files_are_refused(case: str, tmp_path: Path) -> None:
    overrides, mentioned = INVALID_VALUES[case]
    errors = list(validator().iter_errors(merged(overrides)))
    assert errors, f"{case}: the schema accepted it"
    values_file = tmp_path / f"{case}.yaml"
    values_file.write_text(yaml.safe_dump(overrides))
    result = subprocess.run(
        [str(HELM), "template", "wattcast", str(CHART), "--values", str(values_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0, f"{case}: helm accepted it"
    assert mentioned in result.stderr, result.stderr


def test_every_declared_value_has_a_comment_above_it() -> None:
    """cert-manager's convention: a comment above every value of values.yaml."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, str]] = []
    previous = ""
    checked = 0
    missing = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            previous = stripped
            continue
        match = re.match(r"^(\s*)(- )?([A-Za-z0-9_.-]+):", line)
        if match is None:
            previous = stripped
            continue
        spaces, dash, key = len(match.group(1)), match.group(2), match.group(3)
        indent = spaces + (2 if dash else 0)
        limit = spaces if dash else indent
        while stack and stack[-1][0] >= limit:
            stack.pop()
        if dash:
            stack.append((spaces, "[]"))
        parent = SCHEMA
        declared = True
        for _, part in stack:
            parent = resolve(parent)
            if part == "[]":
                parent = parent.get("items", {})
            elif part in parent.get("properties", {}):
                parent = parent["properties"][part]
            else:
                declared = False
                break
        parent = resolve(parent)
        if declared and key in parent.get("properties", {}):
            if not previous.startswith("#"):
                missing.append(f"values.yaml:{number}: {key}")
            checked += 1
        stack.append((indent, key))
        previous = stripped
    assert not missing, f"values without a comment above them: {missing}"
    assert checked > 100
