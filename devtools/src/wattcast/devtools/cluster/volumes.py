"""A pod's volumes made real on this machine: each becomes a folder that the sandbox mounts.

- persistentVolumeClaim: `<workdir>/volumes/<namespace>/<claim>`, shared by every pod of the
  claim (that is how the model store is shared); the claim must exist.
- emptyDir (any medium): a folder of the pod's own.
- configMap, secret, downwardAPI and projected volumes: their keys written as files (items,
  modes); a projected `serviceAccountToken` is a bound token from the TokenRequest API, so the
  process talks to the API server under its pod's ServiceAccount. Such volumes are re-written
  when their token is due for renewal (at 80 % of its life, as the kubelet does).

A missing object is the kubelet's FailedMount: `VolumeError`, the pod waits and it retries.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from wattcast.devtools.cluster.environment import Lookup, expand, field_ref

DEFAULT_MODE: Final = 0o644
# Projected tokens: the kubelet asks for at least 10 minutes and renews at 80 % of the life.
MIN_TOKEN_SECONDS: Final = 600
DEFAULT_TOKEN_SECONDS: Final = 3600
RENEW_FRACTION: Final = 0.8
ROOT_CA_CONFIGMAP: Final = "kube-root-ca.crt"

# RequestToken(serviceAccount, audience or None, expirationSeconds) -> (token, lifetime seconds)
RequestToken = Callable[[str, str | None, int], tuple[str, int]]


class VolumeError(Exception):
    """The kubelet's FailedMount: a volume cannot be set up yet (the pod waits)."""


@dataclass(frozen=True)
class Mount:
    """One bind mount of the sandbox: a host path at a path inside the container."""

    source: Path
    target: str
    read_only: bool = False


Files = dict[str, tuple[bytes, int]]  # relative path -> (content, mode)


@dataclass
class PodVolumes:
    """The mounts of one container, and what must be rewritten before `renew_at`."""

    mounts: list[Mount]
    renew_at: float | None = None  # time.monotonic() when a projected token is due
    _writers: list[Callable[[], float | None]] = field(default_factory=list)

    def renew(self) -> None:
        """Re-write the volumes holding tokens (new tokens, current keys)."""
        due = [w() for w in self._writers]
        times = [t for t in due if t is not None]
        self.renew_at = min(times) if times else None


def claim_folder(claims_root: Path, namespace: str, claim: str) -> Path:
    """The folder of a PersistentVolumeClaim: one per claim, shared by its pods."""
    return claims_root / namespace / claim


def _object_files(
    kind: str,
    ref: Mapping[str, Any],
    name: str,
    namespace: str,
    lookup: Lookup,
    default_mode: int,
    *,
    fallback: Mapping[str, bytes] | None = None,
) -> Files:
    label = "secret" if kind == "secrets" else "configmap"
    obj = lookup(kind, namespace, name)
    data: dict[str, bytes]
    if obj is None:
        if fallback is not None:
            data = dict(fallback)
        elif ref.get("optional"):
            return {}
        else:
            raise VolumeError(f'{label} "{name}" not found')
    elif kind == "secrets":
        data = {k: base64.b64decode(str(v)) for k, v in (obj.get("data") or {}).items()}
    else:
        data = {k: str(v).encode("utf-8") for k, v in (obj.get("data") or {}).items()}
        data.update({k: base64.b64decode(str(v)) for k, v in (obj.get("binaryData") or {}).items()})
    items = ref.get("items")
    if not items:
        return {key: (value, default_mode) for key, value in data.items()}
    files: Files = {}
    for item in items:
        key = str(item["key"])
        if key not in data:
            if ref.get("optional"):
                continue
            raise VolumeError(f"{label} references non-existent {label} key: {key}")
        files[str(item.get("path") or key)] = (data[key], int(item.get("mode", default_mode)))
    return files


def _downward_files(
    items: list[Mapping[str, Any]], pod: Mapping[str, Any], default_mode: int
) -> Files:
    meta = pod.get("metadata") or {}
    files: Files = {}
    for item in items:
        if "fieldRef" not in item:
            raise VolumeError(
                f"downwardAPI item {item.get('path')!r}: only fieldRef is supported by the "
                "process kubelet"
            )
        path = str(item["fieldRef"]["fieldPath"])
        if path in ("metadata.labels", "metadata.annotations"):
            values = meta.get(path.split(".")[1]) or {}
            text = "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
        else:
            text = field_ref(pod, path)
        files[str(item["path"])] = (text.encode("utf-8"), int(item.get("mode", default_mode)))
    return files


def _write_files(target: Path, files: Files) -> None:
    """Write the files (each replaced atomically) and drop any the volume no longer has."""
    target.mkdir(parents=True, exist_ok=True)
    for rel, (content, mode) in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(content)
        tmp.chmod(mode)
        os.replace(tmp, path)
    wanted = {(target / rel).resolve() for rel in files}
    for path in sorted(target.rglob("*"), reverse=True):
        if path.is_file() and path.resolve() not in wanted:
            path.unlink()


class _Volume:
    """Builds one volume's folder; for projected volumes with tokens, again on renewal."""

    def __init__(
        self,
        volume: Mapping[str, Any],
        pod: Mapping[str, Any],
        target: Path,
        lookup: Lookup,
        request_token: RequestToken,
        ca_file: Path,
    ) -> None:
        self.volume, self.pod, self.target = volume, pod, target
        self.lookup, self.request_token, self.ca_file = lookup, request_token, ca_file
        self.namespace = str((pod.get("metadata") or {}).get("namespace") or "default")

    def write(self) -> float | None:
        """Write the folder; returns when a token in it is due for renewal (monotonic)."""
        files, renew = self._files()
        _write_files(self.target, files)
        return renew

    def _files(self) -> tuple[Files, float | None]:
        volume, ns = self.volume, self.namespace
        if "secret" in volume:
            ref = volume["secret"]
            mode = int(ref.get("defaultMode", DEFAULT_MODE))
            return _object_files(
                "secrets", ref, str(ref.get("secretName")), ns, self.lookup, mode
            ), None
        if "configMap" in volume:
            ref = volume["configMap"]
            mode = int(ref.get("defaultMode", DEFAULT_MODE))
            return _object_files(
                "configmaps", ref, str(ref.get("name")), ns, self.lookup, mode
            ), None
        if "downwardAPI" in volume:
            ref = volume["downwardAPI"]
            mode = int(ref.get("defaultMode", DEFAULT_MODE))
            return _downward_files(ref.get("items") or [], self.pod, mode), None
        return self._projected(volume["projected"])

    def _projected(self, projected: Mapping[str, Any]) -> tuple[Files, float | None]:
        mode = int(projected.get("defaultMode", DEFAULT_MODE))
        files: Files = {}
        renew: float | None = None
        for source in projected.get("sources") or []:
            if "secret" in source:
                ref = source["secret"]
                files.update(
                    _object_files(
                        "secrets", ref, str(ref.get("name")), self.namespace, self.lookup, mode
                    )
                )
            elif "configMap" in source:
                ref = source["configMap"]
                name = str(ref.get("name"))
                # The root CA the root-ca-cert-publisher would publish: the control plane's CA.
                fallback = (
                    {"ca.crt": self.ca_file.read_bytes()} if name == ROOT_CA_CONFIGMAP else None
                )
                files.update(
                    _object_files(
                        "configmaps",
                        ref,
                        name,
                        self.namespace,
                        self.lookup,
                        mode,
                        fallback=fallback,
                    )
                )
            elif "downwardAPI" in source:
                files.update(
                    _downward_files(source["downwardAPI"].get("items") or [], self.pod, mode)
                )
            elif "serviceAccountToken" in source:
                ref = source["serviceAccountToken"]
                account = str((self.pod.get("spec") or {}).get("serviceAccountName") or "default")
                asked = max(
                    MIN_TOKEN_SECONDS, int(ref.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS)
                )
                token, lifetime = self.request_token(account, ref.get("audience") or None, asked)
                files[str(ref["path"])] = (token.encode("utf-8"), mode)
                due = time.monotonic() + RENEW_FRACTION * lifetime
                renew = due if renew is None else min(renew, due)
            else:
                raise VolumeError(
                    f"projected source {sorted(source)}: not supported by the process kubelet"
                )
        return files, renew


def prepare_volumes(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    pod_dir: Path,
    claims_root: Path,
    lookup: Lookup,
    request_token: RequestToken,
    ca_file: Path,
) -> PodVolumes:
    """Set up every volume `container` mounts and return its mounts (VolumeError: wait)."""
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    volumes = {v["name"]: v for v in (pod.get("spec") or {}).get("volumes") or []}
    folders: dict[str, Path] = {}
    writers: list[Callable[[], float | None]] = []
    renew: list[float] = []
    mounts: list[Mount] = []
    for mount in container.get("volumeMounts") or []:
        name = str(mount["name"])
        volume = volumes.get(name)
        if volume is None:
            raise VolumeError(f'volume "{name}" is not in the pod spec')
        read_only = bool(mount.get("readOnly", False))
        if name not in folders:
            if "persistentVolumeClaim" in volume:
                claim = str(volume["persistentVolumeClaim"]["claimName"])
                if lookup("persistentvolumeclaims", namespace, claim) is None:
                    raise VolumeError(f'persistentvolumeclaim "{claim}" not found')
                folder = claim_folder(claims_root, namespace, claim)
                folder.mkdir(parents=True, exist_ok=True)
            elif "emptyDir" in volume:
                folder = pod_dir / "volumes" / name
                folder.mkdir(parents=True, exist_ok=True)
            elif any(k in volume for k in ("secret", "configMap", "downwardAPI", "projected")):
                folder = pod_dir / "volumes" / name
                writer = _Volume(volume, pod, folder, lookup, request_token, ca_file)
                due = writer.write()
                if due is not None:
                    writers.append(writer.write)
                    renew.append(due)
            else:
                kinds = sorted(set(volume) - {"name"})
                raise VolumeError(
                    f'volume "{name}" of type {kinds}: the process kubelet supports '
                    "persistentVolumeClaim, emptyDir, configMap, secret, downwardAPI and projected"
                )
            folders[name] = folder
        if "persistentVolumeClaim" in volume and volume["persistentVolumeClaim"].get("readOnly"):
            read_only = True
        if any(k in volume for k in ("secret", "configMap", "downwardAPI", "projected")):
            read_only = True  # the kubelet always mounts these read-only
        source = folders[name]
        sub = mount.get("subPath") or (
            expand(str(mount["subPathExpr"]), env) if mount.get("subPathExpr") else ""
        )
        if sub:
            source = source / str(sub)
            if not source.exists():  # the kubelet makes a missing subPath a folder
                source.mkdir(parents=True)
        mounts.append(Mount(source=source, target=str(mount["mountPath"]), read_only=read_only))
    return PodVolumes(mounts=mounts, renew_at=min(renew) if renew else None, _writers=writers)
