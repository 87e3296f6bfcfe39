"""The process kubelet makes each volume a folder: claims shared, keys written as files."""

from __future__ import annotations

import base64
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from wattcast.devtools.cluster.volumes import Mount, VolumeError, prepare_volumes

OBJECTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("secrets", "ns", "creds"): {"data": {"token": base64.b64encode(b"t0k").decode(), "b": "Yg=="}},
    ("configmaps", "ns", "conf"): {
        "data": {"a.yaml": "a: 1", "b": "2"},
        "binaryData": {"bin": "AAE="},
    },
    ("configmaps", "ns", "kube-root-ca.crt"): {"data": {"ca.crt": "PUBLISHED CA"}},
    ("persistentvolumeclaims", "ns", "models"): {"metadata": {"name": "models"}},
}
TOKENS: list[tuple[str, str | None, int]] = []


def lookup(kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
    return OBJECTS.get((kind, namespace, name))


def request_token(account: str, audience: str | None, seconds: int) -> tuple[str, int]:
    TOKENS.append((account, audience, seconds))
    return f"token-{len(TOKENS)}", seconds


def pod(
    volumes: list[dict[str, Any]], mounts: list[dict[str, Any]], uid: str = "u-1"
) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": uid, "labels": {"a": "1", "b": "2"}},
        "spec": {
            "serviceAccountName": "trainer",
            "volumes": volumes,
            "containers": [{"volumeMounts": mounts}],
        },
    }


def prepare(tmp_path: Path, p: dict[str, Any], ca: bytes = b"FILE CA") -> list[Mount]:
    (tmp_path / "ca.crt").write_bytes(ca)
    return prepare_volumes(
        p,
        p["spec"]["containers"][0],
        {"SUB": "run-1"},
        pod_dir=tmp_path / "pods" / p["metadata"]["uid"],
        claims_root=tmp_path / "volumes",
        lookup=lookup,
        request_token=request_token,
        ca_file=tmp_path / "ca.crt",
    ).mounts


def test_a_claim_is_one_folder_shared_by_its_pods(tmp_path: Path) -> None:
    volumes = [{"name": "store", "persistentVolumeClaim": {"claimName": "models"}}]
    first = prepare(tmp_path, pod(volumes, [{"name": "store", "mountPath": "/models"}], "u-1"))
    second = prepare(
        tmp_path, pod(volumes, [{"name": "store", "mountPath": "/data", "readOnly": True}], "u-2")
    )
    assert first == [Mount(tmp_path / "volumes" / "ns" / "models", "/models", False)]
    assert second == [Mount(tmp_path / "volumes" / "ns" / "models", "/data", True)]
    assert first[0].source.is_dir()


def test_a_missing_claim_waits(tmp_path: Path) -> None:
    volumes = [{"name": "store", "persistentVolumeClaim": {"claimName": "gone"}}]
    with pytest.raises(VolumeError, match='persistentvolumeclaim "gone" not found'):
        prepare(tmp_path, pod(volumes, [{"name": "store", "mountPath": "/models"}]))


def test_empty_dirs_are_the_pods_own(tmp_path: Path) -> None:
    volumes = [{"name": "tmp", "emptyDir": {}}]
    mounts = prepare(tmp_path, pod(volumes, [{"name": "tmp", "mountPath": "/tmp"}]))
    assert mounts == [Mount(tmp_path / "pods" / "u-1" / "volumes" / "tmp", "/tmp", False)]
    assert mounts[0].source.is_dir()


def test_sub_paths_and_sub_path_expressions(tmp_path: Path) -> None:
    volumes = [{"name": "store", "persistentVolumeClaim": {"claimName": "models"}}]
    mounts = prepare(
        tmp_path,
        pod(
            volumes,
            [
                {"name": "store", "mountPath": "/a", "subPath": "x/y"},
                {"name": "store", "mountPath": "/b", "subPathExpr": "$(SUB)"},
            ],
        ),
    )
    root = tmp_path / "volumes" / "ns" / "models"
    assert [m.source for m in mounts] == [root / "x" / "y", root / "run-1"]
    assert all(m.source.is_dir() for m in mounts)


def test_secret_and_config_map_keys_become_read_only_files(tmp_path: Path) -> None:
    volumes = [
        {"name": "s", "secret": {"secretName": "creds", "defaultMode": 0o400}},
        {
            "name": "c",
            "configMap": {
                "name": "conf",
                "items": [{"key": "a.yaml", "path": "sub/app.yaml", "mode": 0o600}],
            },
        },
        {"name": "all", "configMap": {"name": "conf"}},
    ]
    mounts = prepare(
        tmp_path,
        pod(
            volumes,
            [
                {"name": "s", "mountPath": "/s"},
                {"name": "c", "mountPath": "/c"},
                {"name": "all", "mountPath": "/all"},
            ],
        ),
    )
    s, c, everything = (m.source for m in mounts)
    assert all(m.read_only for m in mounts)
    assert (s / "token").read_bytes() == b"t0k"
    assert stat.S_IMODE((s / "token").stat().st_mode) == 0o400
    assert (c / "sub" / "app.yaml").read_text() == "a: 1"
    assert stat.S_IMODE((c / "sub" / "app.yaml").stat().st_mode) == 0o600
    assert not (c / "b").exists()
    assert (everything / "bin").read_bytes() == b"\x00\x01"
    assert stat.S_IMODE((everything / "b").stat().st_mode) == 0o644


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ({"secret": {"secretName": "nope"}}, 'secret "nope" not found'),
        ({"configMap": {"name": "nope"}}, 'configmap "nope" not found'),
        (
            {"configMap": {"name": "conf", "items": [{"key": "zz", "path": "zz"}]}},
            "non-existent configmap key: zz",
        ),
        ({"hostPath": {"path": "/etc"}}, r"type \['hostPath'\]"),
    ],
    ids=["secret", "configmap", "key", "hostPath"],
)
def test_volumes_that_cannot_be_set_up_wait(
    tmp_path: Path, volume: dict[str, Any], message: str
) -> None:
    with pytest.raises(VolumeError, match=message):
        prepare(tmp_path, pod([{"name": "v", **volume}], [{"name": "v", "mountPath": "/v"}]))


def test_optional_missing_objects_give_empty_folders(tmp_path: Path) -> None:
    volumes = [{"name": "v", "secret": {"secretName": "nope", "optional": True}}]
    (mount,) = prepare(tmp_path, pod(volumes, [{"name": "v", "mountPath": "/v"}]))
    assert list(mount.source.iterdir()) == []


def test_a_mount_of_an_unknown_volume_waits(tmp_path: Path) -> None:
    with pytest.raises(VolumeError, match='volume "v" is not in the pod spec'):
        prepare(tmp_path, pod([], [{"name": "v", "mountPath": "/v"}]))


def service_account_volume(expiration: int = 3607) -> dict[str, Any]:
    """The volume the API server's ServiceAccount admission adds to a pod."""
    return {
        "name": "kube-api-access-abcde",
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": expiration, "path": "token"}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }


def test_the_service_account_volume_has_token_ca_and_namespace(tmp_path: Path) -> None:
    TOKENS.clear()
    p = pod(
        [service_account_volume()],
        [
            {
                "name": "kube-api-access-abcde",
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "readOnly": True,
            }
        ],
    )
    (mount,) = prepare(tmp_path, p)
    assert mount.read_only and mount.target == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert (mount.source / "token").read_text() == "token-1"
    assert (mount.source / "ca.crt").read_text() == "PUBLISHED CA"
    assert (mount.source / "namespace").read_text() == "ns"
    assert TOKENS == [("trainer", None, 3607)]


def test_the_token_is_renewed_at_eighty_percent_of_its_life(tmp_path: Path) -> None:
    TOKENS.clear()
    (tmp_path / "ca.crt").write_bytes(b"x")
    p = pod(
        [service_account_volume(expiration=100)],
        [{"name": "kube-api-access-abcde", "mountPath": "/sa"}],
    )
    volumes = prepare_volumes(
        p,
        p["spec"]["containers"][0],
        {},
        pod_dir=tmp_path / "pod",
        claims_root=tmp_path / "v",
        lookup=lookup,
        request_token=request_token,
        ca_file=tmp_path / "ca.crt",
    )
    # At least ten minutes are asked for, as the kubelet does.
    assert TOKENS == [("trainer", None, 600)]
    assert volumes.renew_at is not None
    volumes.renew()
    assert (volumes.mounts[0].source / "token").read_text() == "token-2"


def test_without_the_published_root_ca_the_control_planes_ca_is_written(tmp_path: Path) -> None:
    saved = OBJECTS.pop(("configmaps", "ns", "kube-root-ca.crt"))
    try:
        p = pod([service_account_volume()], [{"name": "kube-api-access-abcde", "mountPath": "/sa"}])
        (mount,) = prepare(tmp_path, p, ca=b"FILE CA")
    finally:
        OBJECTS[("configmaps", "ns", "kube-root-ca.crt")] = saved
    assert (mount.source / "ca.crt").read_text() == "FILE CA"


def test_downward_api_volume_writes_labels(tmp_path: Path) -> None:
    volumes = [
        {
            "name": "d",
            "downwardAPI": {
                "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
            },
        }
    ]
    (mount,) = prepare(tmp_path, pod(volumes, [{"name": "d", "mountPath": "/etc/podinfo"}]))
    assert (mount.source / "labels").read_text() == 'a="1"\nb="2"'
