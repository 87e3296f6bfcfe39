"""From a Job to a pod object, and from a pod to a local process's launch plan.

`pod_for_job` is what the Job controller creates (the template, the `job-name` labels, the
controller ownerReference). `plan_launch` is what the kubelet would do to start its one
container, done on this machine: the environment with `secretKeyRef` / `configMapKeyRef` /
`fieldRef` resolved through a lookup, volumes mapped to local folders, paths inside the
container rewritten to those folders, and the termination message path given a local file.
Both are pure apart from the lookup the caller passes in.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

# The environment rules live with the process kubelet (this package will be deleted).
from wattcast.devtools.cluster.environment import ContainerConfigError as ContainerConfigError
from wattcast.devtools.cluster.environment import Lookup
from wattcast.devtools.cluster.environment import env_from as _env_from
from wattcast.devtools.cluster.environment import expand as _expand
from wattcast.devtools.cluster.environment import value_from as _value_from

TERMINATION_LOG_ENV: Final = "WATTCAST_TERMINATION_LOG"
DEFAULT_TERMINATION_PATH: Final = "/dev/termination-log"

# Environment a local process keeps from the runner: enough to find programs and libraries.
# Nothing else leaks in, as a container starts from its image's environment only.
INHERITED_ENV: Final = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV", "TMPDIR")


def pod_for_job(job: Mapping[str, Any], *, suffix: str | None = None) -> dict[str, Any]:
    """The pod the Job controller creates for `job` (one pod; name `<job>-<5 chars>`)."""
    meta = job["metadata"]
    name = meta["name"]
    uid = meta["uid"]
    template = (job.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    labels = {
        **(tmeta.get("labels") or {}),
        "job-name": name,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "batch.kubernetes.io/controller-uid": uid,
    }
    # A pod name is at most 63 characters: the controller cuts the Job's name to fit.
    pod_name = f"{name[:57]}-{suffix or uuid.uuid4().hex[:5]}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name,
            "namespace": meta.get("namespace"),
            "labels": labels,
            "annotations": dict(tmeta.get("annotations") or {}),
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": name,
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": dict(template.get("spec") or {}),
    }


@dataclass
class LaunchPlan:
    """How to start one pod's container here."""

    container: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    termination_log: Path
    log_path: Path
    termination_policy: str  # File or FallbackToLogsOnError
    grace_seconds: float
    directories: dict[str, Path] = field(default_factory=dict)  # mountPath -> local folder
    scratch: list[Path] = field(default_factory=list)  # emptyDirs, removed with the pod


def map_path(value: str, directories: Mapping[str, Path]) -> str:
    """Rewrite a path inside the container to the local folder of the mount holding it."""
    for mount in sorted(directories, key=len, reverse=True):
        if value == mount:
            return str(directories[mount])
        if value.startswith(mount.rstrip("/") + "/"):
            return str(directories[mount] / value[len(mount.rstrip("/")) + 1 :])
    return value


def plan_launch(
    pod: Mapping[str, Any],
    *,
    pod_dir: Path,
    lookup: Lookup,
    claim_dir: Callable[[str, str], Path],
    kubeconfig: Path,
    extra_env: Mapping[str, str] | None = None,
    max_grace_seconds: float = 5.0,
    base_env: Mapping[str, str] | None = None,
) -> LaunchPlan:
    """The launch plan of the pod's first container.

    `claim_dir(claim_name, mount_path)` gives the local folder of a PersistentVolumeClaim.
    The termination message path gets a local file, named in `$WATTCAST_TERMINATION_LOG`
    (the trainer's setting): a process cannot be given its own /dev/termination-log here.
    Raises ContainerConfigError when a reference cannot be resolved (the pod then waits).
    """
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers:
        raise ContainerConfigError("the pod has no containers")
    container = containers[0]
    volumes = {v["name"]: v for v in spec.get("volumes") or []}

    directories: dict[str, Path] = {}
    scratch: list[Path] = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None:
            raise ContainerConfigError(f'volume "{mount["name"]}" is not in the pod spec')
        path = str(mount["mountPath"])
        if "persistentVolumeClaim" in volume:
            local = claim_dir(volume["persistentVolumeClaim"]["claimName"], path)
        elif "emptyDir" in volume:
            local = pod_dir / "volumes" / mount["name"]
            scratch.append(local)
        elif "secret" in volume or "configMap" in volume:
            local = _project(volume, namespace, pod_dir / "volumes" / mount["name"], lookup)
            scratch.append(local)
        else:
            raise ContainerConfigError(
                f"volume {mount['name']!r}: only persistentVolumeClaim, emptyDir, secret and "
                "configMap volumes run locally"
            )
        if mount.get("subPath"):
            local = local / str(mount["subPath"])
        local.mkdir(parents=True, exist_ok=True)
        directories[path] = local

    inherited = base_env if base_env is not None else os.environ
    env: dict[str, str] = {k: inherited[k] for k in INHERITED_ENV if k in inherited}
    env.update(_env_from(container.get("envFrom") or [], namespace, lookup))
    for item in container.get("env") or []:
        if "valueFrom" in item:
            value = _value_from(item["valueFrom"], pod, namespace, lookup)
            if value is None:
                continue
        else:
            value = _expand(str(item.get("value", "")), env)
        env[item["name"]] = map_path(value, directories)
    # What a pod gets from its node and service account, pointed at this machine.
    env["KUBECONFIG"] = str(kubeconfig)
    env.setdefault("HOSTNAME", str(meta.get("name", "")))
    if "/tmp" in directories:  # noqa: S108 - the pod's /tmp, not ours
        env["TMPDIR"] = str(directories["/tmp"])  # noqa: S108
    termination_log = pod_dir / "termination-log"
    env[TERMINATION_LOG_ENV] = str(termination_log)
    env.update(extra_env or {})

    command = [_expand(str(a), env) for a in container.get("command") or []]
    args = [_expand(str(a), env) for a in container.get("args") or []]
    argv = command + args
    if not argv:
        raise ContainerConfigError(
            "the container has no command: the local runner cannot run an image's entrypoint"
        )
    argv = [argv[0]] + [map_path(a, directories) for a in argv[1:]]
    working = container.get("workingDir")
    cwd = Path(map_path(str(working), directories)) if working else pod_dir
    grace = spec.get("terminationGracePeriodSeconds")
    return LaunchPlan(
        container=str(container.get("name") or "main"),
        argv=argv,
        env=env,
        cwd=cwd,
        termination_log=termination_log,
        log_path=pod_dir / "log",
        termination_policy=str(container.get("terminationMessagePolicy") or "File"),
        grace_seconds=min(max_grace_seconds, float(30 if grace is None else grace)),
        directories=directories,
        scratch=scratch,
    )


def _project(volume: Mapping[str, Any], namespace: str, target: Path, lookup: Lookup) -> Path:
    """Write a secret or configMap volume's keys as files, as the kubelet does."""
    secret = "secret" in volume
    ref = volume["secret" if secret else "configMap"]
    name = ref.get("secretName") if secret else ref.get("name")
    obj = lookup("secrets" if secret else "configmaps", namespace, str(name))
    if obj is None:
        if ref.get("optional"):
            return target
        raise ContainerConfigError(f'{"secret" if secret else "configmap"} "{name}" not found')
    target.mkdir(parents=True, exist_ok=True)
    for key, raw in (obj.get("data") or {}).items():
        data = base64.b64decode(str(raw)) if secret else str(raw).encode("utf-8")
        (target / key).write_bytes(data)
    return target
