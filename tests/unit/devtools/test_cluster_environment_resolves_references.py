"""The process kubelet builds a container's environment as a kubelet does."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from wattcast.devtools.cluster.environment import (
    ContainerConfigError,
    container_argv,
    container_env,
    field_ref,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


OBJECTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("secrets", "ns", "influx"): {"data": {"token": b64("s3cret"), "user": b64("me")}},
    ("configmaps", "ns", "settings"): {"data": {"LEVEL": "debug", "url": "http://x"}},
}


def lookup(kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
    return OBJECTS.get((kind, namespace, name))


POD: dict[str, Any] = {
    "metadata": {
        "name": "p-1",
        "namespace": "ns",
        "uid": "u-1",
        "labels": {"app": "trainer"},
        "annotations": {"note": "n"},
    },
    "spec": {"nodeName": "wattcast-dev", "serviceAccountName": "trainer"},
}
BASE = {
    "PATH": "/venv/bin:/usr/bin",
    "HOME": "/root",
    "SECRET_OF_KUBELET": "x",
    "VIRTUAL_ENV": "/venv",
}


def env_of(container: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    return container_env(
        POD, container, lookup, base_env=BASE, api_host="127.0.0.1", api_port=6443, **kwargs
    )


def test_values_references_and_field_refs_are_resolved() -> None:
    env = env_of(
        {
            "env": [
                {"name": "A", "value": "a"},
                {"name": "B", "value": "$(A)-b-$$(A)"},
                {
                    "name": "TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": "influx", "key": "token"}},
                },
                {
                    "name": "URL",
                    "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "url"}},
                },
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            ]
        }
    )
    assert env["B"] == "a-b-$(A)"
    assert env["TOKEN"] == "s3cret"
    assert env["URL"] == "http://x"
    assert (env["POD"], env["NS"], env["UID"]) == ("p-1", "ns", "u-1")
    assert (env["NODE"], env["SA"], env["IP"], env["APP"]) == (
        "wattcast-dev",
        "trainer",
        "127.0.0.1",
        "trainer",
    )


def test_the_api_server_is_found_in_cluster_and_little_leaks_from_the_kubelet() -> None:
    env = env_of({})
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "6443"
    assert env["PATH"] == BASE["PATH"] and env["VIRTUAL_ENV"] == "/venv"
    assert env["HOSTNAME"] == "p-1"
    assert "SECRET_OF_KUBELET" not in env


def test_env_from_with_prefix_and_env_overrides_it() -> None:
    env = env_of(
        {
            "envFrom": [
                {"configMapRef": {"name": "settings"}, "prefix": "CFG_"},
                {"secretRef": {"name": "influx"}},
                {"secretRef": {"name": "absent", "optional": True}},
            ],
            "env": [{"name": "user", "value": "override"}],
        }
    )
    assert env["CFG_LEVEL"] == "debug" and env["token"] == "s3cret"
    assert env["user"] == "override"


def test_pod_env_of_the_test_bed_comes_last() -> None:
    env = env_of({"env": [{"name": "X", "value": "pod"}]}, extra_env={"X": "testbed", "Y": "y"})
    assert (env["X"], env["Y"]) == ("testbed", "y")


def test_an_image_in_the_table_puts_its_folder_first_on_path() -> None:
    images = {"wattcast-trainer:double": Path("/images/double/bin")}
    env = env_of({"image": "wattcast-trainer:double"}, images=images)
    assert env["PATH"] == "/images/double/bin:/venv/bin:/usr/bin"
    # Other images run the kubelet's own programs; the pod's env may still set PATH itself.
    assert env_of({"image": "wattcast-trainer:1.0"}, images=images)["PATH"] == BASE["PATH"]
    own = {"image": "wattcast-trainer:double", "env": [{"name": "PATH", "value": "/x:$(PATH)"}]}
    assert env_of(own, images=images)["PATH"] == "/x:/images/double/bin:/venv/bin:/usr/bin"


def test_optional_references_that_are_missing_are_left_out() -> None:
    env = env_of(
        {
            "env": [
                {
                    "name": "A",
                    "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}},
                },
                {
                    "name": "B",
                    "valueFrom": {
                        "configMapKeyRef": {"name": "settings", "key": "k", "optional": True}
                    },
                },
            ]
        }
    )
    assert "A" not in env and "B" not in env


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"secretKeyRef": {"name": "nope", "key": "k"}}, 'secret "nope" not found'),
        ({"configMapKeyRef": {"name": "nope", "key": "k"}}, 'configmap "nope" not found'),
        (
            {"secretKeyRef": {"name": "influx", "key": "k"}},
            "couldn't find key k in Secret ns/influx",
        ),
        (
            {"configMapKeyRef": {"name": "settings", "key": "k"}},
            "couldn't find key k in Configmap ns/settings",
        ),
        ({"fieldRef": {"fieldPath": "spec.containers"}}, "unsupported fieldRef"),
        ({"resourceFieldRef": {"resource": "limits.cpu"}}, "unsupported valueFrom"),
    ],
    ids=["secret", "configmap", "secret-key", "configmap-key", "field", "resource"],
)
def test_missing_references_are_container_config_errors(
    source: dict[str, Any], message: str
) -> None:
    with pytest.raises(ContainerConfigError, match=message):
        env_of({"env": [{"name": "A", "valueFrom": source}]})


def test_missing_env_from_object_is_an_error() -> None:
    with pytest.raises(ContainerConfigError, match='configmap "gone" not found'):
        env_of({"envFrom": [{"configMapRef": {"name": "gone"}}]})


def test_annotations_are_in_the_downward_api() -> None:
    assert field_ref(POD, "metadata.annotations['note']") == "n"
    assert field_ref(POD, "metadata.labels['absent']") == ""


def test_argv_is_command_and_args_expanded() -> None:
    argv = container_argv({"command": ["sh", "-c"], "args": ["echo $(A) $$(A)"]}, {"A": "x"})
    assert argv == ["sh", "-c", "echo x $(A)"]


def test_an_image_entrypoint_cannot_run() -> None:
    with pytest.raises(ContainerConfigError, match="no command"):
        container_argv({"args": ["--serve"]}, {})
