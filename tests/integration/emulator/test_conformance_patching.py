"""Emulator conformance: merge patch, JSON patch, strategic merge patch."""

from __future__ import annotations

from typing import Any

from emulator_helpers import MakeTJ, Raw, unique

MERGE = {"Content-Type": "application/merge-patch+json"}
JSON = {"Content-Type": "application/json-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}


def _configmap(raw: Raw, namespace: str, **fields: Any) -> str:
    name = unique("cm")
    body = {"metadata": {"name": name}, **fields}
    resp = raw.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", json=body)
    assert resp.status_code == 201
    return f"/api/v1/namespaces/{namespace}/configmaps/{name}"


def _deployment(raw: Raw, namespace: str) -> str:
    """A Deployment (its pod template's containers are mutable, unlike a Pod's)."""
    name = unique("deploy")
    containers = [
        {"name": "a", "image": "img:1", "env": [{"name": "X", "value": "1"}]},
        {"name": "b", "image": "img:1"},
    ]
    body = {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
        },
    }
    resp = raw.request("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", json=body)
    assert resp.status_code == 201
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["spec"]["template"]["spec"]["containers"])


def test_merge_patch_follows_rfc7386(raw: Raw, namespace: str) -> None:
    path = _configmap(raw, namespace, data={"keep": "1", "drop": "2"})
    patch = {"data": {"drop": None, "new": "3"}, "metadata": {"labels": {"l": "v"}}}
    out = raw.request("PATCH", path, json=patch, headers=MERGE).json()
    assert out["data"] == {"keep": "1", "new": "3"}
    assert out["metadata"]["labels"] == {"l": "v"}


def test_merge_patch_replaces_lists_whole(raw: Raw, namespace: str) -> None:
    path = _deployment(raw, namespace)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "i:2"}]}}}}
    out = raw.request("PATCH", path, json=patch, headers=MERGE).json()
    assert [c["name"] for c in _containers(out)] == ["only"]


def test_json_patch_applies_operations(raw: Raw, namespace: str) -> None:
    path = _configmap(raw, namespace, data={"a": "1", "b": "2"})
    ops = [
        {"op": "add", "path": "/data/c", "value": "3"},
        {"op": "remove", "path": "/data/a"},
        {"op": "replace", "path": "/data/b", "value": "20"},
        {"op": "copy", "from": "/data/c", "path": "/data/d"},
        {"op": "move", "from": "/data/d", "path": "/data/e"},
    ]
    out = raw.request("PATCH", path, json=ops, headers=JSON).json()
    assert out["data"] == {"b": "20", "c": "3", "e": "3"}


def test_json_patch_failed_test_is_422(raw: Raw, namespace: str) -> None:
    path = _configmap(raw, namespace, data={"a": "1"})
    ops = [
        {"op": "test", "path": "/data/a", "value": "2"},
        {"op": "replace", "path": "/data/a", "value": "3"},
    ]
    resp = raw.request("PATCH", path, json=ops, headers=JSON)
    assert resp.status_code == 422
    assert resp.json()["reason"] == "Invalid"
    assert raw.request("GET", path).json()["data"] == {"a": "1"}


def test_json_patch_resource_version_test_guards_finalizers(
    raw: Raw, make_tj: MakeTJ, namespace: str
) -> None:
    obj = make_tj()
    path = raw.tj_path(namespace, obj["metadata"]["name"])
    rv = obj["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["wattcast.dev/x"]},
    ]
    assert raw.request("PATCH", path, json=ops, headers=JSON).status_code == 200
    stale = raw.request("PATCH", path, json=ops, headers=JSON)  # rv has moved on
    assert stale.status_code == 422


def test_strategic_merge_patch_merges_containers_and_env_by_name(raw: Raw, namespace: str) -> None:
    path = _deployment(raw, namespace)
    containers = [
        {"name": "a", "env": [{"name": "Y", "value": "2"}]},
        {"name": "c", "image": "img:3"},
    ]
    patch = {"spec": {"template": {"spec": {"containers": containers}}}}
    out = raw.request("PATCH", path, json=patch, headers=STRATEGIC).json()
    by_name = {c["name"]: c for c in _containers(out)}
    assert list(by_name) == ["a", "b", "c"]
    assert by_name["a"]["image"] == "img:1"
    assert by_name["a"]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]


def test_strategic_delete_directive_removes_list_item(raw: Raw, namespace: str) -> None:
    path = _deployment(raw, namespace)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}}}
    out = raw.request("PATCH", path, json=patch, headers=STRATEGIC).json()
    assert [c["name"] for c in _containers(out)] == ["a"]


def test_strategic_merge_patch_on_custom_resource_is_415(
    raw: Raw, make_tj: MakeTJ, namespace: str
) -> None:
    path = raw.tj_path(namespace, make_tj()["metadata"]["name"])
    resp = raw.request("PATCH", path, json={"spec": {"suspend": True}}, headers=STRATEGIC)
    assert resp.status_code == 415
    assert resp.json()["reason"] == "UnsupportedMediaType"


def test_server_side_apply_is_415(raw: Raw, namespace: str) -> None:
    path = _configmap(raw, namespace)
    resp = raw.request(
        "PATCH",
        path + "?fieldManager=me",
        data="data: {a: b}",
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert resp.status_code == 415


def test_merge_patch_with_stale_resource_version_is_409(raw: Raw, namespace: str) -> None:
    path = _configmap(raw, namespace)
    patch = {"metadata": {"resourceVersion": "1"}, "data": {"a": "b"}}
    resp = raw.request("PATCH", path, json=patch, headers=MERGE)
    assert resp.status_code == 409
    assert resp.json()["reason"] == "Conflict"


def test_malformed_patch_is_400(raw: Raw, namespace: str) -> None:
    path = _configmap(raw, namespace)
    resp = raw.request("PATCH", path, data="{not json", headers=MERGE)
    assert resp.status_code == 400


def test_patch_of_missing_object_is_404(raw: Raw, namespace: str) -> None:
    resp = raw.request(
        "PATCH", f"/api/v1/namespaces/{namespace}/configmaps/none", json={}, headers=MERGE
    )
    assert resp.status_code == 404


def test_pod_spec_is_immutable_but_images_may_change(raw: Raw, namespace: str) -> None:
    name = unique("pod")
    body = {"metadata": {"name": name}, "spec": {"containers": [{"name": "a", "image": "i:1"}]}}
    assert raw.request("POST", f"/api/v1/namespaces/{namespace}/pods", json=body).status_code == 201
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    image = {"spec": {"containers": [{"name": "a", "image": "i:2"}]}}
    assert raw.request("PATCH", path, json=image, headers=STRATEGIC).status_code == 200
    env = {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]}}
    resp = raw.request("PATCH", path, json=env, headers=STRATEGIC)
    assert resp.status_code == 422
    assert "spec: Forbidden: pod updates may not change fields other than" in resp.json()["message"]


def test_job_template_is_immutable_unless_suspended_and_never_started(
    raw: Raw, namespace: str
) -> None:
    name = unique("job")
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}
    body = {"metadata": {"name": name}, "spec": {"suspend": True, "template": template}}
    jobs = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    assert raw.request("POST", jobs, json=body).status_code == 201
    selector = {"spec": {"template": {"spec": {"nodeSelector": {"zone": "a"}}}}}
    assert raw.request("PATCH", f"{jobs}/{name}", json=selector, headers=MERGE).status_code == 200
    image = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "j"}]}}}}
    resp = raw.request("PATCH", f"{jobs}/{name}", json=image, headers=MERGE)
    assert resp.status_code == 422
    assert resp.json()["message"] == (
        f'Job.batch "{name}" is invalid: spec.template: Invalid value: field is immutable'
    )
    resumed = raw.request(
        "PATCH", f"{jobs}/{name}", json={"spec": {"suspend": False}}, headers=MERGE
    )
    assert resumed.status_code == 200
