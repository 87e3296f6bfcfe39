"""On a real kube-apiserver: the generated CRD is accepted (its CEL rules pass the server's
cost estimation, or it would not be Established), and a finished TrainingJob keeps its status
through the status subresource: its phase cannot change, the whole status cannot be removed
(merge patch `status: null`, PUT with `status: {}`), its result cannot change; other fields,
such as the message, still may."""

from __future__ import annotations

import copy
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from testkit import control_plane_only, tj_body

from wattcast.crd import constants
from wattcast.devtools.cluster.access import api_client, create_namespace

GVP = (constants.GROUP, constants.VERSION)
RESULT = {
    "modelPath": "electricity/meter1/versions/20240101T000000000000Z-abcdef/model.keras",
    "dataPoints": 8000,
    "trainingCompleted": "2024-03-01T00:00:00Z",
}
REMOVED = "a finished TrainingJob's phase cannot change, and its status cannot be removed"


@pytest.fixture(scope="module")
def objects() -> Iterator[tuple[client.CustomObjectsApi, str]]:
    with (
        tempfile.TemporaryDirectory(prefix="crd-cp-") as workdir,
        control_plane_only(Path(workdir)) as cluster,
    ):
        api = api_client(cluster.kubeconfig)
        namespace = f"crd-{uuid.uuid4().hex[:8]}"
        create_namespace(api, namespace)
        yield client.CustomObjectsApi(api), namespace
        api.close()  # type: ignore[no-untyped-call]


def _finished(objects: tuple[client.CustomObjectsApi, str], phase: str) -> dict[str, Any]:
    api, namespace = objects
    name = f"tj-{uuid.uuid4().hex[:8]}"
    api.create_namespaced_custom_object(
        *GVP,
        namespace,
        constants.PLURAL,
        tj_body(name),
    )
    status: dict[str, Any] = {"phase": phase, "progress": 100, "message": "done"}
    if phase == "Succeeded":
        status["result"] = RESULT
    result: dict[str, Any] = api.patch_namespaced_custom_object_status(
        *GVP, namespace, constants.PLURAL, name, {"status": status}
    )
    assert result["status"]["phase"] == phase
    return result


def _refused(call: Any, message: str) -> None:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 422, caught.value.body
    assert message in caught.value.body


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_removing_the_whole_status_by_merge_patch_is_refused(
    objects: tuple[client.CustomObjectsApi, str], phase: str
) -> None:
    api, namespace = objects
    name = _finished(objects, phase)["metadata"]["name"]
    _refused(
        lambda: api.patch_namespaced_custom_object_status(
            *GVP, namespace, constants.PLURAL, name, {"status": None}
        ),
        REMOVED,
    )
    kept = api.get_namespaced_custom_object(*GVP, namespace, constants.PLURAL, name)
    assert kept["status"]["phase"] == phase


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_replacing_the_status_with_nothing_is_refused(
    objects: tuple[client.CustomObjectsApi, str], phase: str
) -> None:
    api, namespace = objects
    obj = _finished(objects, phase)
    for empty in ({}, {"progress": 100}):
        body = copy.deepcopy(obj)
        body["status"] = empty
        _refused(
            lambda b=body: api.replace_namespaced_custom_object_status(
                *GVP, namespace, constants.PLURAL, obj["metadata"]["name"], b
            ),
            REMOVED,
        )


def test_a_finished_phase_cannot_change(objects: tuple[client.CustomObjectsApi, str]) -> None:
    api, namespace = objects
    name = _finished(objects, "Succeeded")["metadata"]["name"]
    _refused(
        lambda: api.patch_namespaced_custom_object_status(
            *GVP, namespace, constants.PLURAL, name, {"status": {"phase": "Pending"}}
        ),
        REMOVED,
    )


def test_a_finished_result_cannot_change_or_go(
    objects: tuple[client.CustomObjectsApi, str],
) -> None:
    api, namespace = objects
    name = _finished(objects, "Succeeded")["metadata"]["name"]
    other = {**RESULT, "modelPath": "electricity/meter2/versions/v/model.keras"}
    for change in ({"result": other}, {"result": None}, {"result": {"dataPoints": 1}}):
        _refused(
            lambda c=change: api.patch_namespaced_custom_object_status(
                *GVP, namespace, constants.PLURAL, name, {"status": c}
            ),
            "a finished TrainingJob's result cannot change",
        )


def test_a_finished_status_still_takes_a_new_message(
    objects: tuple[client.CustomObjectsApi, str],
) -> None:
    api, namespace = objects
    name = _finished(objects, "Succeeded")["metadata"]["name"]
    updated = api.patch_namespaced_custom_object_status(
        *GVP, namespace, constants.PLURAL, name, {"status": {"message": "kept for audit"}}
    )
    assert updated["status"]["message"] == "kept for audit"
    assert updated["status"]["result"] == RESULT


def test_an_unfinished_status_may_still_be_reset(
    objects: tuple[client.CustomObjectsApi, str],
) -> None:
    api, namespace = objects
    name = _finished(objects, "Succeeded")["metadata"]["name"]  # a finished one...
    fresh = f"{name}-run"
    api.create_namespaced_custom_object(
        *GVP,
        namespace,
        constants.PLURAL,
        tj_body(fresh),
    )
    api.patch_namespaced_custom_object_status(
        *GVP, namespace, constants.PLURAL, fresh, {"status": {"phase": "Training", "progress": 40}}
    )
    # ...and one still running, whose status the operator may rewrite or clear.
    cleared = api.patch_namespaced_custom_object_status(
        *GVP, namespace, constants.PLURAL, fresh, {"status": None}
    )
    assert not cleared.get("status")
