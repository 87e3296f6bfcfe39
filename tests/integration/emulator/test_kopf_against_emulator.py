"""Kopf 1.45 (``kopf run``, a real subprocess) drives TrainingJobs on the emulator.

The operator here is a throwaway: it adds its finalizer (JSON patch guarded by a
resourceVersion test), creates an adopted ConfigMap (ownerReference with the owner's uid),
writes status through the status subresource, posts an Event, and on deletion lets its
finalizer go; the garbage collector then removes the ConfigMap.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import GROUP, PLURAL, VERSION, tj_body, unique
from kubernetes import client, config

from wattcast.devtools.emulator.fixtures import RunningEmulator

OPERATOR = """
import kopf, kubernetes

@kopf.on.startup()
def configure(settings, **_):
    settings.persistence.finalizer = "wattcast.dev/test-operator"
    settings.posting.level = 20

@kopf.on.create("wattcast.dev", "v1alpha1", "trainingjobs")
def created(body, name, namespace, patch, **_):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}}
    kopf.adopt(cm)
    kubernetes.config.load_kube_config()
    kubernetes.client.CoreV1Api().create_namespaced_config_map(namespace, cm)
    kopf.info(body, reason="Adopted", message="config map created")
    patch.status["phase"] = "Pending"

@kopf.on.delete("wattcast.dev", "v1alpha1", "trainingjobs")
def deleted(**_):
    pass
"""


def _eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (AssertionError, client.ApiException):
            if time.monotonic() > deadline:
                raise
        else:
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
        time.sleep(0.1)


@contextlib.contextmanager
def _kopf(kubeconfig: Path, workdir: Path, *scope: str) -> Iterator[subprocess.Popen[bytes]]:
    script = workdir / "operator.py"
    script.write_text(OPERATOR)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    kopf = Path(sys.executable).with_name("kopf")
    log_path = workdir / "kopf.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(kopf), "run", "--standalone", *scope, str(script)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        except BaseException:
            print(log_path.read_text())  # the operator's side of a failure
            raise
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _lifecycle(kubeconfig: Path, namespace: str) -> None:
    api = config.new_client_from_config(str(kubeconfig))
    try:
        custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        name = unique()
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, tj_body(name))

        def handled() -> dict[str, Any]:
            obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
            assert (obj.get("status") or {}).get("phase") == "Pending"
            assert "wattcast.dev/test-operator" in obj["metadata"]["finalizers"]
            return obj

        obj = _eventually(handled)
        cm = core.read_namespaced_config_map(name, namespace)
        assert cm.metadata.owner_references[0].uid == obj["metadata"]["uid"]
        _eventually(
            lambda: (
                core.list_namespaced_event(
                    namespace, field_selector=f"involvedObject.name={name},reason=Adopted"
                ).items
            )
        )
        custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)

        def gone() -> bool:
            for read in (
                lambda: custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, name
                ),
                lambda: core.read_namespaced_config_map(name, namespace),
            ):
                try:
                    read()
                except client.ApiException as exc:
                    assert exc.status == 404
                else:
                    return False
            return True

        _eventually(gone)
    finally:
        api.close()


def test_kopf_operator_with_namespace_pattern_handles_the_lifecycle(
    emulator: RunningEmulator, namespace: str, tmp_path: Path
) -> None:
    # A glob makes Kopf list and watch namespaces (kmock 0.8 answered that with a 500).
    with _kopf(emulator.kubeconfig_path, tmp_path, "--namespace", f"{namespace}*"):
        _lifecycle(emulator.kubeconfig_path, namespace)


def test_kopf_operator_cluster_wide_handles_the_lifecycle(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    emu: RunningEmulator = fresh_emulator()
    emu.create_namespace("team-a")
    with _kopf(emu.kubeconfig_path, tmp_path, "--all-namespaces"):
        _lifecycle(emu.kubeconfig_path, "team-a")


pytestmark = pytest.mark.timeout(120)
