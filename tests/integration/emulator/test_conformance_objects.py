"""Emulator conformance: object lifecycle basics (metadata, create, read, update, errors)."""

from __future__ import annotations

import base64
import re

import pytest
from emulator_helpers import GROUP, PLURAL, VERSION, MakeTJ, Raw, message, tj_body, unique
from kubernetes import client

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def test_create_answers_201_with_server_metadata(raw: Raw, namespace: str) -> None:
    resp = raw.request("POST", raw.tj_path(namespace), json=tj_body(unique()))
    assert resp.status_code == 201
    meta = resp.json()["metadata"]
    assert UUID.match(meta["uid"])
    assert TIMESTAMP.match(meta["creationTimestamp"])
    assert int(meta["resourceVersion"]) > 0
    assert meta["generation"] == 1
    assert meta["namespace"] == namespace


def test_resource_versions_increase_globally_across_kinds(
    core: client.CoreV1Api, make_tj: MakeTJ, namespace: str
) -> None:
    first = core.create_namespaced_config_map(namespace, {"metadata": {"name": unique("cm")}})
    second = make_tj()
    third = core.create_namespaced_secret(namespace, {"metadata": {"name": unique("s")}})
    rvs = [
        int(first.metadata.resource_version),
        int(second["metadata"]["resourceVersion"]),
        int(third.metadata.resource_version),
    ]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3


def test_generate_name_makes_a_unique_name(core: client.CoreV1Api, namespace: str) -> None:
    names = {
        core.create_namespaced_config_map(
            namespace, {"metadata": {"generateName": "gen-"}}
        ).metadata.name
        for _ in range(5)
    }
    assert len(names) == 5
    assert all(re.fullmatch(r"gen-[a-z0-9]{5}", n) for n in names)


def test_create_existing_name_is_409_already_exists(raw: Raw, namespace: str) -> None:
    body = tj_body(unique())
    assert raw.request("POST", raw.tj_path(namespace), json=body).status_code == 201
    resp = raw.request("POST", raw.tj_path(namespace), json=body)
    assert resp.status_code == 409
    status = resp.json()
    assert status["kind"] == "Status" and status["reason"] == "AlreadyExists"
    assert (
        status["message"]
        == f'trainingjobs.wattcast.dev "{body["metadata"]["name"]}" already exists'
    )
    assert status["details"] == {"name": body["metadata"]["name"], "group": GROUP, "kind": PLURAL}


def test_get_missing_object_is_404_with_status_body(raw: Raw, namespace: str) -> None:
    resp = raw.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/nope")
    assert resp.status_code == 404
    assert resp.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "configmaps"},
        "code": 404,
    }


def test_unknown_resource_path_is_404(raw: Raw) -> None:
    resp = raw.request("GET", "/apis/nosuch.example.com/v1/widgets")
    assert resp.status_code == 404
    assert resp.json()["message"] == "the server could not find the requested resource"


def test_create_in_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_config_map("no-such-ns", {"metadata": {"name": "x"}})
    assert caught.value.status == 404
    assert message(caught.value) == 'namespaces "no-such-ns" not found'


def test_create_in_terminating_namespace_is_403(core: client.CoreV1Api) -> None:
    ns = unique("ns")
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_config_map(
        ns, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    )
    core.delete_namespace(ns)
    assert core.read_namespace(ns).status.phase == "Terminating"
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "late"}})
    assert caught.value.status == 403
    assert "because it is being terminated" in caught.value.body
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException) as gone:
        core.read_namespace(ns)
    assert gone.value.status == 404


def test_put_with_stale_resource_version_is_409_conflict(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    obj = make_tj()
    name = obj["metadata"]["name"]
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"labels": {"a": "b"}}}
    )
    with pytest.raises(client.ApiException) as caught:
        custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, obj)
    assert caught.value.status == 409
    assert "the object has been modified" in caught.value.body


def test_put_of_custom_resource_without_resource_version_is_422(
    raw: Raw, make_tj: MakeTJ, namespace: str
) -> None:
    obj = make_tj()
    del obj["metadata"]["resourceVersion"]
    resp = raw.request("PUT", raw.tj_path(namespace, obj["metadata"]["name"]), json=obj)
    assert resp.status_code == 422
    assert "metadata.resourceVersion: Invalid value" in resp.json()["message"]


def test_put_with_current_resource_version_updates(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    obj = make_tj()
    obj["metadata"]["labels"] = {"updated": "yes"}
    out = custom.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, obj["metadata"]["name"], obj
    )
    assert out["metadata"]["labels"] == {"updated": "yes"}
    assert int(out["metadata"]["resourceVersion"]) > int(obj["metadata"]["resourceVersion"])


def test_noop_update_keeps_resource_version(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    obj = make_tj()
    out = custom.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, obj["metadata"]["name"], obj
    )
    assert out["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_kind_mismatch_in_body_is_400(raw: Raw, namespace: str) -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}
    resp = raw.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", json=body)
    assert resp.status_code == 400
    assert "does not match the expected kind (ConfigMap)" in resp.json()["message"]


def test_namespace_mismatch_in_body_is_400(raw: Raw, namespace: str) -> None:
    body = {"metadata": {"name": "x", "namespace": "elsewhere"}}
    resp = raw.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", json=body)
    assert resp.status_code == 400
    assert "does not match the namespace sent on the request" in resp.json()["message"]


def test_server_owned_metadata_cannot_be_overwritten(
    core: client.CoreV1Api, namespace: str
) -> None:
    cm = core.create_namespaced_config_map(namespace, {"metadata": {"name": unique("cm")}})
    body = {
        "metadata": {
            "name": cm.metadata.name,
            "uid": "forged",
            "creationTimestamp": "2000-01-01T00:00:00Z",
        },
        "data": {"k": "v"},
    }
    out = core.replace_namespaced_config_map(cm.metadata.name, namespace, body)
    assert out.metadata.uid == cm.metadata.uid
    assert out.metadata.creation_timestamp == cm.metadata.creation_timestamp
    assert out.data == {"k": "v"}


def test_secret_string_data_is_encoded_into_data(core: client.CoreV1Api, namespace: str) -> None:
    body = {"metadata": {"name": unique("s")}, "stringData": {"token": "user:pass"}}
    secret = core.create_namespaced_secret(namespace, body)
    assert base64.b64decode(secret.data["token"]) == b"user:pass"
    assert secret.type == "Opaque"


def test_dry_run_create_stores_nothing(raw: Raw, namespace: str) -> None:
    name = unique()
    resp = raw.request("POST", raw.tj_path(namespace) + "?dryRun=All", json=tj_body(name))
    assert resp.status_code == 201
    assert raw.request("GET", raw.tj_path(namespace, name)).status_code == 404


def test_list_pagination_with_limit_and_continue(core: client.CoreV1Api, namespace: str) -> None:
    for i in range(5):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": f"page-{i}"}})
    first = core.list_namespaced_config_map(namespace, limit=2)
    assert [c.metadata.name for c in first.items] == ["page-0", "page-1"]
    assert first.metadata.remaining_item_count == 3
    second = core.list_namespaced_config_map(namespace, limit=2, _continue=first.metadata._continue)
    third = core.list_namespaced_config_map(namespace, limit=2, _continue=second.metadata._continue)
    assert [c.metadata.name for c in second.items + third.items] == ["page-2", "page-3", "page-4"]
    assert not third.metadata._continue


def test_invalid_continue_token_is_400(raw: Raw, namespace: str) -> None:
    resp = raw.request("GET", f"/api/v1/namespaces/{namespace}/configmaps?continue=garbage")
    assert resp.status_code == 400


def test_protobuf_body_is_415(raw: Raw, namespace: str) -> None:
    resp = raw.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        data=b"k8s\x00",
        headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
    )
    assert resp.status_code == 415
    assert resp.json()["reason"] == "UnsupportedMediaType"


def test_invalid_label_value_is_422(core: client.CoreV1Api, namespace: str) -> None:
    body = {"metadata": {"name": unique("cm"), "labels": {"wattcast.dev/meter-id": "a:b"}}}
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_config_map(namespace, body)
    assert caught.value.status == 422
    assert message(caught.value).startswith(
        f'ConfigMap "{body["metadata"]["name"]}" is invalid: metadata.labels: Invalid value: "a:b"'
    )
