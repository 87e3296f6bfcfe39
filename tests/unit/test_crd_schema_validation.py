"""The emulator's CRD validator gives kube-apiserver's verdicts and messages.

Against a small hand-written CRD shaped like TrainingJob (the expected messages are the real
API server's, from apiextensions-apiserver and apimachinery's field errors).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from wattcast.devtools.emulator.validation import (
    CRDSchemaError,
    CustomResourceSchema,
    ErrorType,
    InvalidError,
)

DATE_TIME = {"type": "string", "format": "date-time", "maxLength": 64}

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "trainingjobs.wattcast.dev"},
    "spec": {
        "group": "wattcast.dev",
        "names": {"kind": "TrainingJob", "plural": "trainingjobs", "shortNames": ["tj"]},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "required": ["spec"],
                        "x-kubernetes-validations": [
                            {
                                "rule": "self.metadata.name.size() <= 63",
                                "message": "metadata.name must be at most 63 characters",
                            }
                        ],
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": {
                                "type": "object",
                                "required": ["meterId", "meterType", "start", "end"],
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "timestamp(self.end) > timestamp(self.start)",
                                        "message": "end must be after start",
                                    },
                                    {
                                        "rule": "timestamp(self.end) - timestamp(self.start)"
                                        " <= duration('87660h')",
                                        "message": "the range must be at most 10 years",
                                    },
                                    {
                                        "rule": "self.meterId == oldSelf.meterId",
                                        "message": "meterId is immutable",
                                        "fieldPath": ".meterId",
                                        "reason": "FieldValueForbidden",
                                    },
                                ],
                                "properties": {
                                    "meterId": {
                                        "type": "string",
                                        "minLength": 1,
                                        "maxLength": 128,
                                        "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
                                    },
                                    "meterType": {
                                        "type": "string",
                                        "enum": ["electricity", "water"],
                                    },
                                    "start": DATE_TIME,
                                    "end": DATE_TIME,
                                    "suspend": {"type": "boolean", "default": False},
                                    "model": {
                                        "type": "object",
                                        "default": {},
                                        "properties": {
                                            "epochs": {
                                                "type": "integer",
                                                "default": 20,
                                                "minimum": 1,
                                                "maximum": 1000,
                                            },
                                            "features": {
                                                "type": "array",
                                                "maxItems": 3,
                                                "items": {"type": "string", "maxLength": 20},
                                                "x-kubernetes-list-type": "set",
                                            },
                                            "learningRate": {
                                                "type": "number",
                                                "exclusiveMinimum": True,
                                                "minimum": 0,
                                            },
                                        },
                                    },
                                    "labels": {
                                        "type": "object",
                                        "maxProperties": 2,
                                        "additionalProperties": {
                                            "type": "string",
                                            "maxLength": 5,
                                        },
                                    },
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                    "note": {
                                        "type": "string",
                                        "maxLength": 40,
                                        "x-kubernetes-validations": [
                                            {
                                                "rule": "self.startsWith('n')",
                                                "messageExpression": "'note ' + self"
                                                " + ' must start with n'",
                                            },
                                            {"rule": "  self.size() > 1  "},
                                        ],
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "!has(oldSelf.phase) || oldSelf.phase !="
                                        " 'Succeeded' || self.phase == oldSelf.phase",
                                        "message": "a finished phase cannot change",
                                        "reason": "FieldValueForbidden",
                                    }
                                ],
                                "properties": {
                                    "phase": {
                                        "type": "string",
                                        "enum": ["Pending", "Training", "Succeeded"],
                                    },
                                    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                                    "conditions": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["type"],
                                        "items": {
                                            "type": "object",
                                            "required": ["type", "status"],
                                            "properties": {
                                                "type": {"type": "string"},
                                                "status": {"type": "string"},
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def schema() -> CustomResourceSchema:
    return CustomResourceSchema.from_crd(CRD, "v1alpha1")


def _tj(name: str = "tj-1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "meterId": "meter1",
        "meterType": "electricity",
        "start": "2023-01-01T00:00:00Z",
        "end": "2023-12-31T00:00:00Z",
    }
    body.update(spec)
    return {
        "apiVersion": "wattcast.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": name, "namespace": "default", "labels": {"a": "b"}},
        "spec": body,
    }


def _message(schema: CustomResourceSchema, obj: dict[str, Any], old: Any = None) -> str:
    result = schema.validate(obj, old)
    assert result.errors, "expected the object to be refused"
    return result.message()


def test_valid_object_passes_and_is_defaulted(schema: CustomResourceSchema) -> None:
    result = schema.validate(_tj())
    assert result.ok, result.errors
    assert result.object["spec"]["suspend"] is False
    # The default {} for model is applied, then defaults inside it.
    assert result.object["spec"]["model"] == {"epochs": 20}


def test_validate_does_not_mutate_its_input(schema: CustomResourceSchema) -> None:
    obj = _tj(junk=1)
    before = copy.deepcopy(obj)
    schema.validate(obj)
    assert obj == before


def test_unknown_fields_are_pruned_but_metadata_kept(schema: CustomResourceSchema) -> None:
    obj = _tj(junk={"x": 1})
    obj["topLevelJunk"] = True
    result = schema.validate(obj)
    assert result.ok
    assert "junk" not in result.object["spec"]
    assert "topLevelJunk" not in result.object
    assert result.object["metadata"]["labels"] == {"a": "b"}
    assert result.object["apiVersion"] == "wattcast.dev/v1alpha1"


def test_preserve_unknown_fields_keeps_unknown_fields(schema: CustomResourceSchema) -> None:
    result = schema.validate(_tj(extra={"anything": {"deep": [1, 2]}}))
    assert result.object["spec"]["extra"] == {"anything": {"deep": [1, 2]}}


def test_null_of_non_nullable_field_is_dropped_then_defaulted(
    schema: CustomResourceSchema,
) -> None:
    result = schema.validate(_tj(suspend=None))
    assert result.ok
    assert result.object["spec"]["suspend"] is False


def test_pattern_failure_message_matches_api_server(schema: CustomResourceSchema) -> None:
    assert _message(schema, _tj(meterId="a b")) == (
        'TrainingJob.wattcast.dev "tj-1" is invalid: spec.meterId: Invalid value: "a b": '
        "spec.meterId in body should match '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'"
    )


def test_enum_failure_is_unsupported_value(schema: CustomResourceSchema) -> None:
    result = schema.validate(_tj(meterType="gas"))
    assert str(result.errors[0]) == (
        'spec.meterType: Unsupported value: "gas": supported values: "electricity", "water"'
    )
    assert result.errors[0].cause()["reason"] == "FieldValueNotSupported"


def test_missing_required_field_is_required_value(schema: CustomResourceSchema) -> None:
    obj = _tj()
    del obj["spec"]["meterId"]
    result = schema.validate(obj)
    assert str(result.errors[0]) == "spec.meterId: Required value"
    assert result.errors[0].cause() == {
        "reason": "FieldValueRequired",
        "message": "Required value",
        "field": "spec.meterId",
    }


def test_blocking_error_skips_cel_with_the_api_servers_note(
    schema: CustomResourceSchema,
) -> None:
    obj = _tj(end="2000-01-01T00:00:00Z", meterType="gas")  # CEL would also fail
    messages = [str(e) for e in schema.validate(obj).errors]
    assert messages == [
        'spec.meterType: Unsupported value: "gas": supported values: "electricity", "water"',
        '<nil>: Invalid value: "null": some validation rules were not checked because the '
        "object was invalid; correct the existing errors to complete validation",
    ]


def test_wrong_type_is_type_invalid(schema: CustomResourceSchema) -> None:
    result = schema.validate(_tj(meterId=5))
    err = result.errors[0]
    assert err.type is ErrorType.TYPE_INVALID
    assert str(err) == (
        'spec.meterId: Invalid value: "integer": spec.meterId in body must be of type string: '
        '"integer"'
    )


def test_date_time_format_is_checked(schema: CustomResourceSchema) -> None:
    err = schema.validate(_tj(start="yesterday")).errors[0]
    assert str(err) == (
        'spec.start: Invalid value: "yesterday": spec.start in body must be of type date-time: '
        '"yesterday"'
    )


def test_max_length_is_too_long(schema: CustomResourceSchema) -> None:
    err = schema.validate(_tj(meterId="a" * 129)).errors[0]
    assert str(err) == "spec.meterId: Too long: may not be more than 128 bytes"
    assert err.cause()["reason"] == "FieldValueTooLong"


def test_min_length_is_invalid(schema: CustomResourceSchema) -> None:
    messages = [str(e) for e in schema.validate(_tj(meterId="")).errors]
    assert (
        'spec.meterId: Invalid value: "": spec.meterId in body should be at least 1 chars long'
        in (messages)
    )


def test_maximum_and_minimum(schema: CustomResourceSchema) -> None:
    err = schema.validate(_tj(model={"epochs": 1001})).errors[0]
    assert str(err) == (
        "spec.model.epochs: Invalid value: 1001: spec.model.epochs in body should be less than "
        "or equal to 1000"
    )
    err = schema.validate(_tj(model={"epochs": 0})).errors[0]
    assert str(err).endswith("should be greater than or equal to 1")


def test_exclusive_minimum(schema: CustomResourceSchema) -> None:
    err = schema.validate(_tj(model={"learningRate": 0})).errors[0]
    assert str(err) == (
        "spec.model.learningRate: Invalid value: 0: spec.model.learningRate in body should be "
        "greater than 0"
    )


def test_integer_field_refuses_a_float(schema: CustomResourceSchema) -> None:
    err = schema.validate(_tj(model={"epochs": 2.5})).errors[0]
    assert err.type is ErrorType.TYPE_INVALID


def test_max_items_is_too_many(schema: CustomResourceSchema) -> None:
    err = schema.validate(_tj(model={"features": ["a", "b", "c", "d"]})).errors[0]
    assert str(err) == "spec.model.features: Too many: 4: must have at most 3 items"


def test_list_type_set_refuses_duplicates(schema: CustomResourceSchema) -> None:
    err = schema.validate(_tj(model={"features": ["a", "a"]})).errors[0]
    assert str(err) == 'spec.model.features[1]: Duplicate value: "a"'


def test_list_type_map_refuses_duplicate_keys(schema: CustomResourceSchema) -> None:
    obj = _tj()
    obj["status"] = {
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "Ready", "status": "False"},
        ]
    }
    err = schema.validate(obj).errors[0]
    assert err.type is ErrorType.DUPLICATE
    assert err.field == "status.conditions[1]"
    assert str(err) == (
        'status.conditions[1]: Duplicate value: map[string]interface {}{"type":"Ready"}'
    )


def test_additional_properties_schema_applies_to_each_value(
    schema: CustomResourceSchema,
) -> None:
    err = schema.validate(_tj(labels={"k": "toolong"})).errors[0]
    assert str(err) == "spec.labels[k]: Too long: may not be more than 5 bytes"


def test_max_properties(schema: CustomResourceSchema) -> None:
    err = schema.validate(_tj(labels={"a": "1", "b": "2", "c": "3"})).errors[0]
    assert str(err) == "spec.labels: Too many: 3: must have at most 2 items"


def test_cel_rule_failure_message(schema: CustomResourceSchema) -> None:
    assert _message(schema, _tj(end="2022-01-01T00:00:00Z")) == (
        'TrainingJob.wattcast.dev "tj-1" is invalid: spec: Invalid value: "object": '
        "end must be after start"
    )


def test_cel_duration_rule(schema: CustomResourceSchema) -> None:
    result = schema.validate(_tj(start="2000-01-01T00:00:00Z", end="2020-01-01T00:00:00Z"))
    assert [str(e) for e in result.errors] == [
        'spec: Invalid value: "object": the range must be at most 10 years'
    ]


def test_cel_rule_with_timezone_offsets_compares_instants(schema: CustomResourceSchema) -> None:
    # 00:00+05:00 is 19:00Z the day before: end is after start although its text sorts lower.
    obj = _tj(start="2023-01-01T00:00:00+05:00", end="2022-12-31T23:00:00Z")
    assert schema.validate(obj).ok


def test_root_rule_sees_metadata_name(schema: CustomResourceSchema) -> None:
    assert _message(schema, _tj(name="x" * 64)) == (
        'TrainingJob.wattcast.dev "' + "x" * 64 + '" is invalid: <nil>: Invalid value: '
        '"object": metadata.name must be at most 63 characters'
    )


def test_message_expression_and_default_message(schema: CustomResourceSchema) -> None:
    messages = [str(e) for e in schema.validate(_tj(note="x")).errors]
    assert messages == [
        'spec.note: Invalid value: "string": note x must start with n',
        'spec.note: Invalid value: "string": failed rule: self.size() > 1',
    ]


def test_transition_rule_is_skipped_on_create(schema: CustomResourceSchema) -> None:
    assert schema.validate(_tj(meterId="m2")).ok


def test_transition_rule_with_field_path_and_reason_on_update(
    schema: CustomResourceSchema,
) -> None:
    old = schema.validate(_tj()).object
    new = copy.deepcopy(old)
    new["spec"]["meterId"] = "m2"
    result = schema.validate(new, old)
    assert [str(e) for e in result.errors] == ["spec.meterId: Forbidden: meterId is immutable"]
    assert result.errors[0].cause()["reason"] == "FieldValueForbidden"


def test_transition_rule_allows_unchanged_update(schema: CustomResourceSchema) -> None:
    old = schema.validate(_tj()).object
    new = copy.deepcopy(old)
    new["spec"]["suspend"] = True
    assert schema.validate(new, old).ok


def test_transition_rule_needs_old_value_at_the_same_place(
    schema: CustomResourceSchema,
) -> None:
    old = schema.validate(_tj()).object  # no status yet: the status rule must not run
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Pending"}
    assert schema.validate(new, old).ok


def test_terminal_phase_stays_terminal(schema: CustomResourceSchema) -> None:
    old = schema.validate(_tj()).object
    old["status"] = {"phase": "Succeeded"}
    new = copy.deepcopy(old)
    new["status"]["phase"] = "Training"
    assert [str(e) for e in schema.validate(new, old).errors] == [
        "status: Forbidden: a finished phase cannot change"
    ]


ROOT_RULE_CRD = copy.deepcopy(CRD)
_ROOT = ROOT_RULE_CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
del _ROOT["properties"]["status"]["x-kubernetes-validations"]
_ROOT["x-kubernetes-validations"] = [
    {
        "rule": "!(has(oldSelf.status) && has(oldSelf.status.phase) && "
        "oldSelf.status.phase == 'Succeeded') || (has(self.status) && has(self.status.phase) "
        "&& self.status.phase == oldSelf.status.phase)",
        "message": "a finished status cannot be removed",
        "fieldPath": ".status",
        "reason": "FieldValueForbidden",
    }
]


@pytest.mark.parametrize(
    "new_status",
    [None, {}, {"progress": 100}],
    ids=["removed", "emptied", "phase-dropped"],
)
def test_a_root_transition_rule_sees_a_removed_status(new_status: Any) -> None:
    # A rule on `status` itself does not run when the new object has no status; on the
    # root it does, and its has() guards read the old status safely.
    root = CustomResourceSchema.from_crd(ROOT_RULE_CRD, "v1alpha1")
    old = root.validate(_tj()).object
    old["status"] = {"phase": "Succeeded", "progress": 100}
    new = copy.deepcopy(old)
    if new_status is None:
        del new["status"]
    else:
        new["status"] = new_status
    result = root.validate(new, old)
    assert [str(e) for e in result.errors] == [
        "status: Forbidden: a finished status cannot be removed"
    ]
    assert result.errors[0].cause()["reason"] == "FieldValueForbidden"


def test_a_root_transition_rule_passes_objects_that_never_had_a_status() -> None:
    root = CustomResourceSchema.from_crd(ROOT_RULE_CRD, "v1alpha1")
    old = root.validate(_tj()).object
    new = copy.deepcopy(old)
    new["spec"]["suspend"] = True
    assert root.validate(new, old).ok


def test_invalid_name_is_refused(schema: CustomResourceSchema) -> None:
    err = schema.validate(_tj(name="Bad_Name")).errors[0]
    assert err.field == "metadata.name"
    assert "a lowercase RFC 1123 subdomain" in str(err)


def test_status_body_shape(schema: CustomResourceSchema) -> None:
    status = schema.validate(_tj(meterType="gas")).status()
    assert status["kind"] == "Status"
    assert status["code"] == 422
    assert status["reason"] == "Invalid"
    assert status["status"] == "Failure"
    assert status["details"]["name"] == "tj-1"
    assert status["details"]["group"] == "wattcast.dev"
    assert status["details"]["kind"] == "TrainingJob"
    assert status["details"]["causes"][0] == {
        "reason": "FieldValueNotSupported",
        "message": 'Unsupported value: "gas": supported values: "electricity", "water"',
        "field": "spec.meterType",
    }


def test_raise_for_errors_carries_the_status(schema: CustomResourceSchema) -> None:
    with pytest.raises(InvalidError) as caught:
        schema.validate(_tj(meterType="gas")).raise_for_errors()
    assert caught.value.status["code"] == 422
    assert str(caught.value).startswith('TrainingJob.wattcast.dev "tj-1" is invalid: ')
    schema.validate(_tj()).raise_for_errors()  # no error when valid


def test_unknown_version_is_refused() -> None:
    with pytest.raises(CRDSchemaError, match="no such version"):
        CustomResourceSchema.from_crd(CRD, "v9")


def test_rule_that_does_not_compile_is_refused() -> None:
    crd = copy.deepcopy(CRD)
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    root["x-kubernetes-validations"] = [{"rule": "self.x >"}]
    with pytest.raises(CRDSchemaError, match=r"x-kubernetes-validations\[0\].rule"):
        CustomResourceSchema.from_crd(crd, "v1alpha1")


def test_unsupported_rule_reason_is_refused() -> None:
    crd = copy.deepcopy(CRD)
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    root["x-kubernetes-validations"][0]["reason"] = "FieldValueTooLong"
    with pytest.raises(CRDSchemaError) as caught:
        CustomResourceSchema.from_crd(crd, "v1alpha1")
    assert str(caught.value).endswith(
        'x-kubernetes-validations[0].reason: Unsupported value: "FieldValueTooLong": supported '
        'values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", '
        '"FieldValueRequired"'
    )


# The real contract: crds/trainingjob.yaml and examples/*.yaml ------------------------------

ROOT = Path(__file__).resolve().parents[2]
REAL_CRD = ROOT / "crds" / "trainingjob.yaml"


@pytest.fixture(scope="module")
def real_schema() -> CustomResourceSchema:
    crd = yaml.safe_load(REAL_CRD.read_text())
    return CustomResourceSchema.from_crd(crd, "v1alpha1")


@pytest.mark.parametrize(
    "example", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name
)
def test_real_crd_accepts_every_example(real_schema: CustomResourceSchema, example: Path) -> None:
    for doc in yaml.safe_load_all(example.read_text()):
        if doc and doc.get("kind") == "TrainingJob":
            result = real_schema.validate(doc)
            assert result.ok, result.message()


def test_real_crd_keeps_spec_immutable_except_suspend(real_schema: CustomResourceSchema) -> None:
    old = real_schema.validate(_tj()).object
    suspended = copy.deepcopy(old)
    suspended["spec"]["suspend"] = True
    assert real_schema.validate(suspended, old).ok
    moved = copy.deepcopy(old)
    moved["spec"]["end"] = "2023-12-01T00:00:00Z"
    errors = real_schema.validate(moved, old).errors
    assert [e.field for e in errors] == ["spec"]


def test_real_crd_refuses_a_range_over_ten_years(real_schema: CustomResourceSchema) -> None:
    result = real_schema.validate(_tj(start="2000-01-01T00:00:00Z", end="2015-01-01T00:00:00Z"))
    assert result.message() == (
        'TrainingJob.wattcast.dev "tj-1" is invalid: spec: Invalid value: "object": '
        "the range from start to end must be at most 10 years"
    )


def test_real_crd_keeps_a_terminal_phase_terminal(real_schema: CustomResourceSchema) -> None:
    old = real_schema.validate(_tj()).object
    old["status"] = {"phase": "Failed"}
    new = copy.deepcopy(old)
    new["status"]["phase"] = "Training"
    assert [e.field for e in real_schema.validate(new, old).errors] == ["status"]


def test_invalid_label_value_is_refused(schema: CustomResourceSchema) -> None:
    obj = _tj()
    obj["metadata"]["labels"] = {"wattcast.dev/meter-id": "a b"}
    err = schema.validate(obj).errors[0]
    assert err.field == "metadata.labels"
    assert str(err).startswith('metadata.labels: Invalid value: "a b": a valid label must be')


def test_label_value_over_63_characters_is_refused(schema: CustomResourceSchema) -> None:
    obj = _tj()
    obj["metadata"]["labels"] = {"k": "x" * 64}
    assert str(schema.validate(obj).errors[0]).endswith("must be no more than 63 characters")


def test_invalid_label_key_prefix_is_refused(schema: CustomResourceSchema) -> None:
    obj = _tj()
    obj["metadata"]["labels"] = {"Not_A_Domain/name": "v"}
    assert "prefix part a lowercase RFC 1123 subdomain" in str(schema.validate(obj).errors[0])


def test_memoised_rule_outcomes_give_the_same_verdicts(schema: CustomResourceSchema) -> None:
    old = schema.validate(_tj()).object
    bad = copy.deepcopy(old)
    bad["spec"]["meterId"] = "m2"
    first = [str(e) for e in schema.validate(bad, old).errors]
    again = [str(e) for e in schema.validate(bad, old).errors]
    assert first == again == ["spec.meterId: Forbidden: meterId is immutable"]
    assert schema.validate(old, old).ok
