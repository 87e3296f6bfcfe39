"""Pods the local runner creates, and how it maps a pod to a local process."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from wattcast.devtools.localrun.pods import (
    TERMINATION_LOG_ENV,
    ContainerConfigError,
    map_path,
    plan_launch,
    pod_for_job,
)
from wattcast.devtools.localrun.process import PodProcess

JOB: dict[str, Any] = {
    "metadata": {"name": "tj-1", "namespace": "ns", "uid": "u-1"},
    "spec": {
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "wattcast"}},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "trainer",
                        "image": "img",
                        "command": ["wattcast-trainer"],
                        "args": ["--out", "/models/x", "$(GREETING)-$$(LITERAL)"],
                        "env": [
                            {"name": "WATTCAST_MODELS_DIR", "value": "/models"},
                            {"name": "GREETING", "value": "hi"},
                            {"name": "NESTED", "value": "/tmp/work"},
                            {
                                "name": "INFLUX_TOKEN",
                                "valueFrom": {"secretKeyRef": {"name": "tok", "key": "token"}},
                            },
                            {
                                "name": "OPTIONAL",
                                "valueFrom": {
                                    "configMapKeyRef": {
                                        "name": "nope",
                                        "key": "k",
                                        "optional": True,
                                    }
                                },
                            },
                            {
                                "name": "NS",
                                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                            },
                        ],
                        "volumeMounts": [
                            {"name": "models", "mountPath": "/models"},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                        "terminationMessagePolicy": "FallbackToLogsOnError",
                    }
                ],
                "volumes": [
                    {"name": "models", "persistentVolumeClaim": {"claimName": "wattcast-models"}},
                    {"name": "tmp", "emptyDir": {}},
                ],
                "terminationGracePeriodSeconds": 30,
            },
        }
    },
}

SECRETS: dict[tuple[str, str, str], Mapping[str, Any]] = {
    ("secrets", "ns", "tok"): {"data": {"token": base64.b64encode(b"user:pw").decode()}},
}


def lookup(kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
    return SECRETS.get((kind, namespace, name))


def plan(tmp_path: Path, job: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    pod = pod_for_job(job or JOB, suffix="abcde")
    pod["metadata"]["uid"] = "pod-uid"
    return plan_launch(
        pod,
        pod_dir=tmp_path / "pod",
        lookup=kwargs.pop("lookup", lookup),
        claim_dir=lambda claim, mount: tmp_path / "claims" / claim,
        kubeconfig=tmp_path / "kubeconfig",
        base_env={"PATH": "/usr/bin", "SECRET_OF_THE_NODE": "x"},
        **kwargs,
    )


def test_pod_has_job_labels_and_controller_owner() -> None:
    pod = pod_for_job(JOB, suffix="abcde")
    meta = pod["metadata"]
    assert meta["name"] == "tj-1-abcde"
    assert meta["labels"] == {
        "app.kubernetes.io/name": "wattcast",
        "job-name": "tj-1",
        "batch.kubernetes.io/job-name": "tj-1",
        "controller-uid": "u-1",
        "batch.kubernetes.io/controller-uid": "u-1",
    }
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": "tj-1",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert pod["spec"]["containers"][0]["name"] == "trainer"


def test_pod_name_fits_63_characters() -> None:
    long = {**JOB, "metadata": {**JOB["metadata"], "name": "a" * 63}}
    assert len(pod_for_job(long)["metadata"]["name"]) == 63


def test_launch_plan_maps_env_volumes_and_args(tmp_path: Path) -> None:
    p = plan(tmp_path)
    models = tmp_path / "claims" / "wattcast-models"
    tmp = tmp_path / "pod" / "volumes" / "tmp"
    assert p.argv == ["wattcast-trainer", "--out", str(models / "x"), "hi-$(LITERAL)"]
    assert p.env["WATTCAST_MODELS_DIR"] == str(models)
    assert p.env["NESTED"] == str(tmp / "work")
    assert p.env["INFLUX_TOKEN"] == "user:pw"
    assert "OPTIONAL" not in p.env
    assert p.env["NS"] == "ns"
    assert p.env["TMPDIR"] == str(tmp)
    assert p.env["KUBECONFIG"] == str(tmp_path / "kubeconfig")
    assert p.env[TERMINATION_LOG_ENV] == str(tmp_path / "pod" / "termination-log")
    assert p.env["PATH"] == "/usr/bin"
    assert "SECRET_OF_THE_NODE" not in p.env
    assert models.is_dir() and tmp.is_dir()
    assert p.scratch == [tmp]
    assert p.grace_seconds == 5.0
    assert p.termination_policy == "FallbackToLogsOnError"


def test_extra_env_is_added_last(tmp_path: Path) -> None:
    p = plan(tmp_path, extra_env={"WATTCAST_MIN_TRAINING_DAYS": "7", "GREETING": "node"})
    assert p.env["WATTCAST_MIN_TRAINING_DAYS"] == "7"
    assert p.env["GREETING"] == "node"


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ({}, 'secret "tok" not found'),
        ({("secrets", "ns", "tok"): {"data": {}}}, "couldn't find key token in Secret ns/tok"),
    ],
    ids=["no-secret", "no-key"],
)
def test_unresolvable_secret_is_a_container_config_error(
    tmp_path: Path, secrets: dict[Any, Any], message: str
) -> None:
    with pytest.raises(ContainerConfigError, match=message):
        plan(tmp_path, lookup=lambda kind, ns, name: secrets.get((kind, ns, name)))


def test_unsupported_volume_is_refused(tmp_path: Path) -> None:
    job = {**JOB, "spec": {"template": {"spec": {**JOB["spec"]["template"]["spec"]}}}}
    job["spec"]["template"]["spec"]["volumes"] = [
        {"name": "models", "hostPath": {"path": "/"}},
        {"name": "tmp", "emptyDir": {}},
    ]
    with pytest.raises(ContainerConfigError, match="only persistentVolumeClaim"):
        plan(tmp_path, job)


def test_container_without_command_is_refused(tmp_path: Path) -> None:
    spec = JOB["spec"]["template"]["spec"]
    container = {k: v for k, v in spec["containers"][0].items() if k not in ("command", "args")}
    job = {**JOB, "spec": {"template": {"spec": {**spec, "containers": [container]}}}}
    with pytest.raises(ContainerConfigError, match="no command"):
        plan(tmp_path, job)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/models", "/local/models"),
        ("/models/a/b", "/local/models/a/b"),
        ("/modelsX", "/modelsX"),
        ("/tmp/x", "/local/tmp/x"),
        ("relative", "relative"),
    ],
)
def test_paths_inside_mounts_are_rewritten(value: str, expected: str) -> None:
    dirs = {"/models": Path("/local/models"), "/tmp": Path("/local/tmp")}
    assert map_path(value, dirs) == expected


def _finished(tmp_path: Path, code: str, termination: str | None) -> PodProcess:
    p = plan(tmp_path)
    p.argv = ["python3", "-c", code]
    proc = PodProcess("ns", "pod", "uid", "job", "juid", p)
    proc.start()
    if termination is not None:
        p.termination_log.write_text(termination)
    assert proc.process is not None
    proc.process.wait(30)
    return proc


def test_termination_message_prefers_the_file(tmp_path: Path) -> None:
    proc = _finished(tmp_path, "import sys; print('log'); sys.exit(3)", '{"phase": "Failed"}')
    assert proc.exit_code() == 3
    assert proc.termination_message() == '{"phase": "Failed"}'


def test_termination_message_falls_back_to_the_log_tail(tmp_path: Path) -> None:
    code = "import sys\nfor i in range(200): print('line', i)\nsys.exit(1)"
    proc = _finished(tmp_path, code, None)
    message = proc.termination_message()
    assert message is not None
    assert message.endswith("line 199")
    assert len(message.splitlines()) <= 80
    assert len(message.encode()) <= 2048


def test_successful_pod_without_a_file_has_no_message(tmp_path: Path) -> None:
    proc = _finished(tmp_path, "print('done')", None)
    assert proc.termination_message() is None


def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    p = plan(tmp_path)
    p.argv = ["sh", "-c", "trap '' TERM; touch ready; sleep 60 & wait"]
    p.grace_seconds = 0.3
    proc = PodProcess("ns", "pod", "uid", "job", "juid", p)
    proc.start()
    deadline = time.monotonic() + 10
    while not (p.cwd / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # SIGTERM must come after the trap is set
    code = proc.stop("test")
    assert code == -9
    assert proc.exit_code() == 137
    assert proc.stop_reason == "test"


def test_the_command_runs_as_the_pod_gives_it(tmp_path: Path) -> None:
    """The termination message file reaches the process only through its environment
    ($WATTCAST_TERMINATION_LOG, the trainer's setting), never by rewriting the command."""
    p = plan(tmp_path)
    assert "--termination-log" not in p.argv
    assert p.env[TERMINATION_LOG_ENV] == str(tmp_path / "pod" / "termination-log")
