"""Emulator conformance: custom resources validated against their CRD, CRD lifecycle."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from emulator_helpers import GROUP, PLURAL, VERSION, MakeTJ, Raw, message, tj_body, unique
from kubernetes import client

from wattcast.devtools.emulator.fixtures import RunningEmulator


def _create_error(custom: client.CustomObjectsApi, namespace: str, body: dict[str, Any]) -> Any:
    with pytest.raises(client.ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert caught.value.status == 422
    return caught.value


def test_schema_pattern_violation_is_422_with_api_server_message(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    exc = _create_error(custom, namespace, tj_body("tj-1", meterId="a b"))
    assert message(exc) == (
        'TrainingJob.wattcast.dev "tj-1" is invalid: spec.meterId: Invalid value: "a b": '
        "spec.meterId in body should match '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'"
    )


def test_enum_violation_cause_is_field_value_not_supported(raw: Raw, namespace: str) -> None:
    resp = raw.request("POST", raw.tj_path(namespace), json=tj_body("tj-gas", meterType="gas"))
    assert resp.status_code == 422
    status = resp.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == "TrainingJob"
    assert status["details"]["group"] == GROUP
    assert status["details"]["causes"][0] == {
        "reason": "FieldValueNotSupported",
        "message": 'Unsupported value: "gas": supported values: "electricity", "water"',
        "field": "spec.meterType",
    }


def test_missing_required_field_is_422_required_value(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    body = tj_body("tj-req")
    del body["spec"]["meterId"]
    assert "spec.meterId: Required value" in message(_create_error(custom, namespace, body))


def test_unknown_fields_are_pruned_on_create(make_tj: MakeTJ) -> None:
    obj = make_tj(unknownField="dropped")
    assert "unknownField" not in obj["spec"]


def test_defaults_are_applied_on_create(make_tj: MakeTJ) -> None:
    assert make_tj()["spec"]["suspend"] is False


def test_cel_rule_end_after_start_is_enforced(
    custom: client.CustomObjectsApi, namespace: str
) -> None:
    body = tj_body("tj-cel", start="2023-06-01T00:00:00Z", end="2023-01-01T00:00:00Z")
    assert message(_create_error(custom, namespace, body)) == (
        'TrainingJob.wattcast.dev "tj-cel" is invalid: spec: Invalid value: "object": '
        "end must be after start"
    )


def test_cel_transition_rule_keeps_spec_immutable(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    with pytest.raises(client.ApiException) as caught:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, {"spec": {"meterId": "other"}}
        )
    assert caught.value.status == 422
    assert "spec: " in message(caught.value)


def test_suspend_stays_mutable(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    out = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"spec": {"suspend": True}}
    )
    assert out["spec"]["suspend"] is True


def test_terminal_phase_cannot_change(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, name, {"status": {"phase": "Succeeded"}}
    )
    with pytest.raises(client.ApiException) as caught:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, {"status": {"phase": "Training"}}
        )
    assert caught.value.status == 422
    assert "status: Forbidden: a finished TrainingJob's phase cannot change" in message(
        caught.value
    )


def test_status_writes_are_schema_validated(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    with pytest.raises(client.ApiException) as caught:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, {"status": {"progress": 101}}
        )
    assert caught.value.status == 422
    assert "status.progress: Invalid value: 101" in message(caught.value)


def test_root_rule_limits_name_length(custom: client.CustomObjectsApi, namespace: str) -> None:
    exc = _create_error(custom, namespace, tj_body("a" * 64))
    assert '<nil>: Invalid value: "object": metadata.name must be at most 63' in message(exc)


def _widget_crd(group: str, rule: str = "self.size >= 0") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wd"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "x-kubernetes-validations": [{"rule": rule}],
                                    "properties": {"size": {"type": "integer"}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def test_posting_an_invalid_crd_is_422(api_client: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api_client)
    body = _widget_crd(f"{unique('bad')}.example.com", rule="self.size >")
    with pytest.raises(client.ApiException) as caught:
        ext.create_custom_resource_definition(body)
    assert caught.value.status == 422
    assert "x-kubernetes-validations[0].rule" in message(caught.value)


def test_posted_crd_becomes_served_and_established(fresh_emulator: Any, raw: Raw) -> None:
    emu: RunningEmulator = fresh_emulator(with_trainingjob_crd=False)
    group = "toys.example.com"
    resp = raw.session.post(
        emu.url + "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        json=_widget_crd(group),
        timeout=10,
    )
    assert resp.status_code == 201
    groups = raw.session.get(emu.url + "/apis", timeout=10).json()["groups"]
    assert group in [g["name"] for g in groups]
    crd = raw.session.get(
        emu.url + f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{group}",
        timeout=10,
    ).json()
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"
    created = raw.session.post(
        emu.url + f"/apis/{group}/v1/namespaces/default/widgets",
        json={
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"size": 3},
        },
        timeout=10,
    )
    assert created.status_code == 201


def test_deleting_a_crd_removes_its_resources(fresh_emulator: Any, raw: Raw) -> None:
    emu: RunningEmulator = fresh_emulator(with_trainingjob_crd=False)
    group = "gone.example.com"
    base = emu.url + "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    raw.session.post(base, json=_widget_crd(group), timeout=10).raise_for_status()
    widgets = emu.url + f"/apis/{group}/v1/namespaces/default/widgets"
    body = {"metadata": {"name": "w"}, "spec": {"size": 1}}
    raw.session.post(widgets, json=copy.deepcopy(body), timeout=10).raise_for_status()
    assert raw.session.delete(f"{base}/widgets.{group}", timeout=10).status_code == 200
    assert raw.session.get(widgets, timeout=10).status_code == 404
    assert raw.session.get(f"{base}/widgets.{group}", timeout=10).status_code == 404


def test_unknown_fields_warn_by_default(raw: Raw, namespace: str) -> None:
    resp = raw.request("POST", raw.tj_path(namespace), json=tj_body(unique(), typo="x"))
    assert resp.status_code == 201
    assert resp.headers["Warning"] == '299 - "unknown field \\"spec.typo\\""'


def test_unknown_fields_are_400_under_strict_field_validation(raw: Raw, namespace: str) -> None:
    resp = raw.request(
        "POST", raw.tj_path(namespace) + "?fieldValidation=Strict", json=tj_body("s", typo="x")
    )
    assert resp.status_code == 400
    assert resp.json()["message"] == (
        'TrainingJob in version "v1alpha1" cannot be handled as a TrainingJob: strict decoding '
        'error: unknown field "spec.typo"'
    )


def test_unknown_fields_are_silent_under_ignore(raw: Raw, namespace: str) -> None:
    resp = raw.request(
        "POST", raw.tj_path(namespace) + "?fieldValidation=Ignore", json=tj_body(unique(), t=1)
    )
    assert resp.status_code == 201
    assert "Warning" not in resp.headers
