"""Emulator conformance: label selectors and field selectors on list."""

from __future__ import annotations

import pytest
from emulator_helpers import GROUP, PLURAL, VERSION, MakeTJ, Raw, unique
from kubernetes import client


@pytest.fixture
def labelled(core: client.CoreV1Api, namespace: str) -> str:
    for name, labels in [
        ("one", {"tier": "a", "env": "prod"}),
        ("two", {"tier": "b", "env": "dev"}),
        ("three", {"tier": "c"}),
    ]:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": labels}})
    return namespace


def _names(core: client.CoreV1Api, namespace: str, **kwargs: str) -> list[str]:
    return sorted(
        c.metadata.name for c in core.list_namespaced_config_map(namespace, **kwargs).items
    )


def test_label_selector_equality_and_inequality(core: client.CoreV1Api, labelled: str) -> None:
    assert _names(core, labelled, label_selector="tier=a") == ["one"]
    assert _names(core, labelled, label_selector="tier==b") == ["two"]
    assert _names(core, labelled, label_selector="tier!=a") == ["three", "two"]


def test_label_selector_set_based_in_notin(core: client.CoreV1Api, labelled: str) -> None:
    assert _names(core, labelled, label_selector="tier in (a, c)") == ["one", "three"]
    assert _names(core, labelled, label_selector="env notin (prod)") == ["three", "two"]


def test_label_selector_exists_and_not_exists(core: client.CoreV1Api, labelled: str) -> None:
    assert _names(core, labelled, label_selector="env") == ["one", "two"]
    assert _names(core, labelled, label_selector="!env") == ["three"]
    assert _names(core, labelled, label_selector="env,tier=b") == ["two"]


def test_invalid_label_selector_is_400(raw: Raw, namespace: str) -> None:
    resp = raw.request(
        "GET", f"/api/v1/namespaces/{namespace}/configmaps", params={"labelSelector": "a in ()"}
    )
    assert resp.status_code == 400


def test_field_selector_on_metadata_name(core: client.CoreV1Api, labelled: str) -> None:
    assert _names(core, labelled, field_selector="metadata.name=two") == ["two"]
    assert _names(core, labelled, field_selector="metadata.name!=two") == ["one", "three"]


def test_field_selector_on_crd_selectable_fields(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    make_tj(meterId="elec-1")
    water = make_tj(meterId="water-1", meterType="water")["metadata"]["name"]
    out = custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, field_selector="spec.meterType=water"
    )
    assert [o["metadata"]["name"] for o in out["items"]] == [water]
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, water, {"status": {"phase": "Training"}}
    )
    out = custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, field_selector="status.phase=Training"
    )
    assert [o["metadata"]["name"] for o in out["items"]] == [water]


def test_field_selector_on_pod_status_phase(core: client.CoreV1Api, namespace: str) -> None:
    name = unique("pod")
    core.create_namespaced_pod(
        namespace,
        {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
    )
    core.patch_namespaced_pod_status(name, namespace, {"status": {"phase": "Running"}})
    running = core.list_namespaced_pod(namespace, field_selector="status.phase=Running")
    pending = core.list_namespaced_pod(namespace, field_selector="status.phase=Pending")
    assert [p.metadata.name for p in running.items] == [name]
    assert pending.items == []


def test_unsupported_field_selector_is_400(raw: Raw, namespace: str) -> None:
    resp = raw.request("GET", raw.tj_path(namespace), params={"fieldSelector": "spec.start=x"})
    assert resp.status_code == 400
    assert resp.json()["message"] == "field label not supported: spec.start"


def test_cluster_wide_list_spans_namespaces(core: client.CoreV1Api, namespace: str) -> None:
    other = unique("ns")
    core.create_namespace({"metadata": {"name": other}})
    try:
        marker = {"wide": unique("w")}
        for ns in (namespace, other):
            core.create_namespaced_config_map(ns, {"metadata": {"name": "c", "labels": marker}})
        found = core.list_config_map_for_all_namespaces(
            label_selector=f"wide={marker['wide']}"
        ).items
        assert sorted(c.metadata.namespace for c in found) == sorted([namespace, other])
    finally:
        core.delete_namespace(other)
