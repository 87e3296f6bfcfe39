"""A container's environment as the kubelet builds it, pure apart from the lookup passed in.

Order, as on a node: the image's environment (here: a few variables of the kubelet's own, so
programs and libraries are found), the service variables of the `kubernetes` Service, the
container's `envFrom`, then its `env` (`$(VAR)` expanded against what came before, `valueFrom`
resolved: `secretKeyRef`, `configMapKeyRef`, `fieldRef`). A missing object or key that is not
`optional` is the kubelet's CreateContainerConfigError: the container waits and the kubelet
retries.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

# What a process keeps from the kubelet's environment: it stands for the image's environment.
INHERITED_ENV: Final = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV")

# The pod's and node's address: every pod shares the machine's loopback.
POD_IP: Final = "127.0.0.1"

# Lookup(kind, namespace, name) -> the object's JSON, or None when it does not exist.
# kind is "secrets" or "configmaps".
Lookup = Callable[[str, str, str], Mapping[str, Any] | None]


class ContainerConfigError(Exception):
    """The kubelet's CreateContainerConfigError: a referenced Secret, ConfigMap or key is
    missing, or a reference cannot be resolved. The container waits; the kubelet retries."""


def decode_secret(secret: Mapping[str, Any], key: str) -> str | None:
    """A Secret's value for `key` (its `data` is base64), or None when the key is absent."""
    data = secret.get("data") or {}
    if key in data:
        return base64.b64decode(str(data[key])).decode("utf-8")
    string_data = secret.get("stringData") or {}
    if key in string_data:  # never stored by a real server, harmless to honour
        return str(string_data[key])
    return None


def field_ref(pod: Mapping[str, Any], path: str) -> str:
    """The downward API's value of `fieldPath` for this pod."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    values = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": POD_IP,
        "status.podIPs": POD_IP,
        "status.hostIP": POD_IP,
        "status.hostIPs": POD_IP,
    }
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((meta.get(source) or {}).get(path[len(prefix) + 2 : -2], ""))
    if path not in values:
        raise ContainerConfigError(f"unsupported fieldRef {path!r}")
    return str(values[path] or "")


def value_from(
    source: Mapping[str, Any], pod: Mapping[str, Any], namespace: str, lookup: Lookup
) -> str | None:
    """The value of an `env[].valueFrom`, or None for a missing optional reference."""
    if "secretKeyRef" in source or "configMapKeyRef" in source:
        secret = "secretKeyRef" in source
        ref = source["secretKeyRef" if secret else "configMapKeyRef"]
        kind = "secrets" if secret else "configmaps"
        label = "secret" if secret else "configmap"
        optional = bool(ref.get("optional", False))
        obj = lookup(kind, namespace, ref["name"])
        if obj is None:
            if optional:
                return None
            raise ContainerConfigError(f'{label} "{ref["name"]}" not found')
        if secret:
            value = decode_secret(obj, ref["key"])
        else:
            raw = (obj.get("data") or {}).get(ref["key"])
            value = None if raw is None else str(raw)
        if value is None:
            if optional:
                return None
            raise ContainerConfigError(
                f"couldn't find key {ref['key']} in {label.capitalize()} {namespace}/{ref['name']}"
            )
        return value
    if "fieldRef" in source:
        return field_ref(pod, source["fieldRef"]["fieldPath"])
    raise ContainerConfigError(f"unsupported valueFrom {sorted(source)}")


def env_from(sources: list[Mapping[str, Any]], namespace: str, lookup: Lookup) -> dict[str, str]:
    """The variables of a container's `envFrom` (Secrets and ConfigMaps, with prefixes)."""
    env: dict[str, str] = {}
    for item in sources:
        prefix = str(item.get("prefix") or "")
        secret = "secretRef" in item
        ref = item.get("secretRef" if secret else "configMapRef") or {}
        obj = lookup("secrets" if secret else "configmaps", namespace, ref.get("name", ""))
        if obj is None:
            if ref.get("optional"):
                continue
            kind = "secret" if secret else "configmap"
            raise ContainerConfigError(f'{kind} "{ref.get("name")}" not found')
        for key, raw in (obj.get("data") or {}).items():
            env[prefix + key] = base64.b64decode(str(raw)).decode("utf-8") if secret else str(raw)
    return env


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion in command, args and env values (`$$` escapes)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("$(", i) and (end := text.find(")", i)) != -1:
            name = text[i + 2 : end]
            out.append(env.get(name, text[i : end + 1]))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def container_env(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    lookup: Lookup,
    *,
    base_env: Mapping[str, str],
    api_host: str,
    api_port: int,
    extra_env: Mapping[str, str] | None = None,
    images: Mapping[str, Path] | None = None,
) -> dict[str, str]:
    """The whole environment of `container`'s process.

    `base_env` is the kubelet's own environment (only INHERITED_ENV is taken from it);
    `images` maps an image name to a folder that goes first on PATH for containers of that
    image (which program `wattcast-trainer` is: what an image decides on a node);
    `extra_env` (the test bed's additions) comes last and wins.
    """
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    env: dict[str, str] = {k: base_env[k] for k in INHERITED_ENV if k in base_env}
    image_bin = (images or {}).get(str(container.get("image") or ""))
    if image_bin is not None:
        env["PATH"] = os.pathsep.join([str(image_bin), *filter(None, [env.get("PATH")])])
    env["HOSTNAME"] = str(meta.get("name", ""))
    # The `kubernetes` Service's variables, so in-cluster config finds the API server.
    env["KUBERNETES_SERVICE_HOST"] = api_host
    env["KUBERNETES_SERVICE_PORT"] = str(api_port)
    env["KUBERNETES_SERVICE_PORT_HTTPS"] = str(api_port)
    env.update(env_from(container.get("envFrom") or [], namespace, lookup))
    for item in container.get("env") or []:
        if "valueFrom" in item:
            value = value_from(item["valueFrom"], pod, namespace, lookup)
            if value is None:
                continue
        else:
            value = expand(str(item.get("value", "")), env)
        env[str(item["name"])] = value
    env.update(extra_env or {})
    return env


def container_argv(container: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """`command + args` with `$(VAR)` expanded; an image's entrypoint cannot run here."""
    command = [expand(str(a), env) for a in container.get("command") or []]
    args = [expand(str(a), env) for a in container.get("args") or []]
    if not command:
        raise ContainerConfigError(
            "the container has no command: the process kubelet runs no image, so it cannot "
            "run an image's entrypoint"
        )
    return command + args
