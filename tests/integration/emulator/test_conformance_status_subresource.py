"""Emulator conformance: the status subresource and generation."""

from __future__ import annotations

from emulator_helpers import GROUP, PLURAL, VERSION, MakeTJ, Raw, tj_body, unique
from kubernetes import client


def test_status_in_create_body_is_dropped(raw: Raw, namespace: str) -> None:
    body = tj_body(unique())
    body["status"] = {"phase": "Succeeded"}
    resp = raw.request("POST", raw.tj_path(namespace), json=body)
    assert resp.status_code == 201
    assert "status" not in resp.json()


def test_main_endpoint_ignores_status_changes(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    out = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"status": {"phase": "Training"}}
    )
    assert "status" not in out


def test_status_endpoint_ignores_spec_and_metadata_changes(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    out = custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        name,
        {
            "metadata": {"labels": {"x": "y"}},
            "spec": {"suspend": True},
            "status": {"phase": "Pending"},
        },
    )
    assert out["status"] == {"phase": "Pending"}
    assert out["spec"]["suspend"] is False
    assert "labels" not in out["metadata"]


def test_generation_bumps_on_spec_change_only(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    labelled = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"labels": {"a": "b"}}}
    )
    assert labelled["metadata"]["generation"] == 1
    suspended = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"spec": {"suspend": True}}
    )
    assert suspended["metadata"]["generation"] == 2


def test_status_write_does_not_bump_generation(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    out = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, name, {"status": {"phase": "Pending", "progress": 3}}
    )
    assert out["metadata"]["generation"] == 1
    assert out["status"]["progress"] == 3


def test_noop_status_patch_changes_nothing(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    patch = {"status": {"phase": "Pending"}}
    first = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, name, patch
    )
    second = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, name, patch
    )
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_job_status_subresource_separates_status(batch: client.BatchV1Api, namespace: str) -> None:
    job = {
        "metadata": {"name": unique("job")},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}
            }
        },
    }
    created = batch.create_namespaced_job(namespace, job)
    name = created.metadata.name
    assert created.metadata.generation == 1
    assert created.spec.backoff_limit == 6
    ignored = batch.patch_namespaced_job(name, namespace, {"status": {"succeeded": 1}})
    assert ignored.status.succeeded is None
    written = batch.patch_namespaced_job_status(name, namespace, {"status": {"succeeded": 1}})
    assert written.status.succeeded == 1
    assert written.metadata.generation == 1
