"""Emulator conformance: finalizers, deletionTimestamp, garbage collection, namespaces."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_helpers import GROUP, PLURAL, VERSION, MakeTJ, Raw, message, unique
from kubernetes import client


def _owned_cm(core: client.CoreV1Api, namespace: str, *owners: dict[str, Any]) -> str:
    name = unique("dep")
    refs = [
        {
            "apiVersion": o["apiVersion"],
            "kind": o["kind"],
            "name": o["metadata"]["name"],
            "uid": o["metadata"]["uid"],
        }
        for o in owners
    ]
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": name, "ownerReferences": refs}}
    )
    return name


def _exists(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    try:
        core.read_namespaced_config_map(name, namespace)
    except client.ApiException as exc:
        assert exc.status == 404
        return False
    return True


def test_delete_without_finalizers_removes_immediately(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    with pytest.raises(client.ApiException) as caught:
        custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    assert caught.value.status == 404


def test_delete_with_finalizers_sets_deletion_timestamp_and_answers_202(
    raw: Raw, custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": ["x.dev/hold"]}}
    )
    resp = raw.request("DELETE", raw.tj_path(namespace, name))
    assert resp.status_code == 202
    meta = resp.json()["metadata"]
    assert meta["deletionTimestamp"]
    assert meta["generation"] == 2  # graceful deletion bumps generation
    still = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    assert still["metadata"]["finalizers"] == ["x.dev/hold"]


def test_removing_last_finalizer_deletes_the_object(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": ["a/b", "c/d"]}}
    )
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": ["c/d"]}}
    )
    assert custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": None}}
    )
    with pytest.raises(client.ApiException) as caught:
        custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    assert caught.value.status == 404


def test_no_new_finalizers_while_deleting(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": ["a/b"]}}
    )
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    with pytest.raises(client.ApiException) as caught:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": ["a/b", "n/w"]}}
        )
    assert caught.value.status == 422
    assert "no new finalizers can be added" in caught.value.body


def test_owner_deletion_garbage_collects_dependents(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    owner = make_tj()
    dep = _owned_cm(core, namespace, owner)
    custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, owner["metadata"]["name"]
    )
    assert not _exists(core, namespace, dep)


def test_garbage_collection_cascades_through_generations(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    owner = make_tj()
    child = core.create_namespaced_config_map(
        namespace,
        {
            "metadata": {
                "name": unique("child"),
                "ownerReferences": [
                    {
                        "apiVersion": owner["apiVersion"],
                        "kind": "TrainingJob",
                        "name": owner["metadata"]["name"],
                        "uid": owner["metadata"]["uid"],
                    }
                ],
            }
        },
    )
    grandchild = _owned_cm(
        core,
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": child.metadata.name, "uid": child.metadata.uid},
        },
    )
    custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, owner["metadata"]["name"]
    )
    assert not _exists(core, namespace, grandchild)


def test_dependent_with_another_live_owner_survives(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    first, second = make_tj(), make_tj()
    dep = _owned_cm(core, namespace, first, second)
    custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, first["metadata"]["name"]
    )
    refs = core.read_namespaced_config_map(dep, namespace).metadata.owner_references
    assert [r.uid for r in refs] == [second["metadata"]["uid"]]


def test_orphan_propagation_keeps_dependents_without_owner_reference(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    owner = make_tj()
    dep = _owned_cm(core, namespace, owner)
    custom.delete_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        owner["metadata"]["name"],
        body=client.V1DeleteOptions(propagation_policy="Orphan"),
    )
    assert core.read_namespaced_config_map(dep, namespace).metadata.owner_references is None


def test_foreground_deletion_waits_for_dependents(
    raw: Raw,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    make_tj: MakeTJ,
    namespace: str,
) -> None:
    owner = make_tj()
    name = owner["metadata"]["name"]
    dep = _owned_cm(core, namespace, owner)
    core.patch_namespaced_config_map(dep, namespace, {"metadata": {"finalizers": ["hold/it"]}})
    resp = raw.request(
        "DELETE", raw.tj_path(namespace, name), json={"propagationPolicy": "Foreground"}
    )
    assert resp.status_code == 202
    assert "foregroundDeletion" in resp.json()["metadata"]["finalizers"]
    core.patch_namespaced_config_map(dep, namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException) as caught:
        custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    assert caught.value.status == 404


def test_namespace_deletion_deletes_its_content(core: client.CoreV1Api) -> None:
    ns = unique("ns")
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    core.delete_namespace(ns)
    with pytest.raises(client.ApiException) as caught:
        core.read_namespace(ns)
    assert caught.value.status == 404
    assert core.list_namespaced_config_map(ns).items == []


def test_delete_precondition_uid_mismatch_is_409(raw: Raw, make_tj: MakeTJ, namespace: str) -> None:
    name = make_tj()["metadata"]["name"]
    resp = raw.request(
        "DELETE", raw.tj_path(namespace, name), json={"preconditions": {"uid": "not-the-uid"}}
    )
    assert resp.status_code == 409


def test_job_delete_without_policy_orphans_pods(
    batch: client.BatchV1Api, core: client.CoreV1Api, namespace: str
) -> None:
    job = batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": unique("job")},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}
                }
            },
        },
    )
    ref = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": job.metadata.name,
        "uid": job.metadata.uid,
        "controller": True,
    }
    pod, kept = unique("pod"), unique("pod")
    for name in (pod, kept):
        core.create_namespaced_pod(
            namespace,
            {
                "metadata": {"name": name, "ownerReferences": [ref]},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        )
    batch.delete_namespaced_job(job.metadata.name, namespace)  # batch/v1 default: Orphan
    assert core.read_namespaced_pod(kept, namespace).metadata.owner_references is None
    job2 = batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": unique("job")},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}
                }
            },
        },
    )
    ref2 = {**ref, "name": job2.metadata.name, "uid": job2.metadata.uid}
    core.create_namespaced_pod(
        namespace,
        {
            "metadata": {"name": pod + "x", "ownerReferences": [ref2]},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
    )
    batch.delete_namespaced_job(job2.metadata.name, namespace, propagation_policy="Background")
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_pod(pod + "x", namespace)
    assert caught.value.status == 404


def test_default_namespace_cannot_be_deleted(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as caught:
        core.delete_namespace("default")
    assert caught.value.status == 403
    assert message(caught.value) == (
        'namespaces "default" is forbidden: this namespace may not be deleted'
    )
