"""Helpers of the operator's integration tests (imported by conftest.py and the tests).

A module of its own, with a name no other test directory uses, because `conftest` itself
is not safely importable when several test directories have one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import testkit
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from testkit import free_port, tj_body

OPERATOR = Path(sys.executable).with_name("wattcast-operator")
SOURCES_YAML = """
- name: legacy
  url: http://influx1.example:8086
  dialect: influxql
  database: energy
- name: cloud
  url: https://influx2.example
  dialect: flux
  org: energy
  bucket: meters
  tokenSecret: {name: cloud-token, key: token}
"""
WAIT_S = 30.0
# The trainer double's image (tests/integration/operator/trainer-double, via the kubelet's
# image table in tests/conftest.py) and where it looks for the test's instruction.
TRAINER_DOUBLE_IMAGE = "wattcast-trainer:double"
INSTRUCTION_PREFIX = "trainer-double.wattcast.dev/"
INFLUX_TOKEN_SECRET = "influx-token"
MODELS_CLAIM = "wattcast-models"
# Where Kopf keeps the spec it last handled (wattcast.operator.kopf_settings).
DIFFBASE_ANNOTATION = "wattcast.dev/last-handled-configuration"


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT_S, what: str = "condition") -> Any:
    """testkit.wait_for in the argument order of the operator's tests."""
    return testkit.wait_for(what, predicate, timeout)


class OperatorProcess:
    """A `wattcast-operator` subprocess; its log is kept for failure reports."""

    def __init__(self, kubeconfig: Path, workdir: Path, env: dict[str, str]) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.env = env
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.log_path = workdir / f"operator-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> OperatorProcess:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "WATTCAST_METRICS_PORT": str(self.metrics_port),
            "WATTCAST_HEALTH_PORT": str(self.health_port),
            "WATTCAST_LOG_FORMAT": "plain",
            **self.env,
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(OPERATOR), "--verbose"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the operator exited at start:\n{self.log()}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.health_port}/healthz", timeout=1
                ) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the operator did not become healthy:\n{self.log()}")

    def kill(self) -> None:
        """kill -9: no cleanup, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-20000:]

    def metrics(self) -> str:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
        ) as response:
            return str(response.read().decode())


def operator_env(workdir: Path, **extra: str) -> dict[str, str]:
    sources = workdir / "sources.yaml"
    sources.write_text(SOURCES_YAML)
    return {
        "WATTCAST_INFLUX_URL": "http://influx.example:8086",
        "WATTCAST_INFLUX_ORG": "energy",
        "WATTCAST_INFLUX_BUCKET": "energy_data",
        "WATTCAST_INFLUX_TOKEN_SECRET": "influx-token/token",
        "WATTCAST_INFLUX_SOURCES_FILE": str(sources),
        "WATTCAST_TRAINER_IMAGE": TRAINER_DOUBLE_IMAGE,
        **extra,
    }


class K8s:
    """What the tests do with the API, through the official client over real HTTP."""

    def __init__(self, kubeconfig: Path) -> None:
        configuration = client.Configuration()
        config.load_kube_config(str(kubeconfig), client_configuration=configuration)
        self.api = client.ApiClient(configuration)
        self.custom = client.CustomObjectsApi(self.api)
        self.batch = client.BatchV1Api(self.api)
        self.core = client.CoreV1Api(self.api)

    def create_tj(self, namespace: str, name: str, **spec: Any) -> dict[str, Any]:
        body = tj_body(name, namespace=namespace, **spec)
        result: dict[str, Any] = self.custom.create_namespaced_custom_object(
            "wattcast.dev", "v1alpha1", namespace, "trainingjobs", body
        )
        return result

    def tj(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self.custom.get_namespaced_custom_object(
                "wattcast.dev", "v1alpha1", namespace, "trainingjobs", name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return result

    def status(self, namespace: str, name: str) -> dict[str, Any]:
        return dict((self.tj(namespace, name) or {}).get("status") or {})

    def patch_tj(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            "wattcast.dev",
            "v1alpha1",
            namespace,
            "trainingjobs",
            name,
            patch,
            _content_type="application/merge-patch+json",
        )

    def patch_tj_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Write status as the trainer does (its own subresource patch)."""
        self.custom.patch_namespaced_custom_object_status(
            "wattcast.dev",
            "v1alpha1",
            namespace,
            "trainingjobs",
            name,
            {"status": status},
            _content_type="application/merge-patch+json",
        )

    def delete_tj(self, namespace: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            "wattcast.dev", "v1alpha1", namespace, "trainingjobs", name
        )

    def job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            response = self.batch.read_namespaced_job(name, namespace, _preload_content=False)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return dict(response.json())

    def jobs(self, namespace: str) -> list[dict[str, Any]]:
        response = self.batch.list_namespaced_job(namespace, _preload_content=False)
        return list(response.json()["items"])

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        response = self.core.list_namespaced_pod(namespace, _preload_content=False)
        return list(response.json()["items"])

    def events(self, namespace: str, name: str) -> list[dict[str, Any]]:
        response = self.core.list_namespaced_event(namespace, _preload_content=False)
        return [
            e
            for e in response.json()["items"]
            if (e.get("involvedObject") or {}).get("name") == name
        ]

    def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.batch.create_namespaced_job(namespace, body, _preload_content=False)
        return dict(response.json())

    def delete_job(self, namespace: str, name: str) -> None:
        self.batch.delete_namespaced_job(name, namespace, propagation_policy="Background")

    def patch_job(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.batch.patch_namespaced_job(name, namespace, patch)

    def job_condition(self, namespace: str, name: str, type_: str) -> dict[str, Any] | None:
        """The Job's condition `type_` when it is True."""
        conditions = ((self.job(namespace, name) or {}).get("status") or {}).get("conditions")
        return next(
            (c for c in conditions or [] if c["type"] == type_ and c["status"] == "True"), None
        )

    def job_pods(self, namespace: str, name: str) -> list[dict[str, Any]]:
        response = self.core.list_namespaced_pod(
            namespace, label_selector=f"job-name={name}", _preload_content=False
        )
        return list(response.json()["items"])

    def instruct(
        self,
        namespace: str,
        name: str,
        *,
        exit_code: int = 0,
        termination: dict[str, Any] | str | None = None,
        status: dict[str, Any] | None = None,
    ) -> str:
        """Tell the trainer double in the next running pod of `name`'s Job how to end.

        Waits for a running pod of the Job that has no instruction yet, writes the instruction
        as an annotation of the TrainingJob (where the double reads it) and returns the pod's
        name. The double patches `status`, writes `termination` and exits with `exit_code`.
        """

        def annotations() -> dict[str, str]:
            return dict((self.tj(namespace, name) or {})["metadata"].get("annotations") or {})

        def waiting_pod() -> str | None:
            given = annotations()
            for pod in self.job_pods(namespace, name):
                pod_name = pod["metadata"]["name"]
                if (
                    pod["status"].get("phase") == "Running"
                    and not pod["metadata"].get("deletionTimestamp")
                    and INSTRUCTION_PREFIX + pod_name not in given
                ):
                    return str(pod_name)
            return None

        pod_name: str = wait_for(waiting_pod, what=f"a running trainer pod of {name}")
        instruction: dict[str, Any] = {"exitCode": exit_code}
        if termination is not None:
            instruction["termination"] = termination
        if status is not None:
            instruction["status"] = status
        self.patch_tj(
            namespace,
            name,
            {"metadata": {"annotations": {INSTRUCTION_PREFIX + pod_name: json.dumps(instruction)}}},
        )
        return pod_name

    def pod_phase(self, namespace: str, pod: str, *phases: str) -> str:
        """Wait until pod `pod` is in one of `phases` (or gone, when "Gone" is one)."""

        def phase() -> str | None:
            try:
                found = self.core.read_namespaced_pod(pod, namespace, _preload_content=False)
            except ApiException as error:
                if error.status == 404:
                    return "Gone" if "Gone" in phases else None
                raise
            current = str(found.json()["status"].get("phase"))
            return current if current in phases else None

        result: str = wait_for(phase, what=f"pod {pod} to be {' or '.join(phases)}")
        return result

    def prepare_training_namespace(self, namespace: str) -> None:
        """What a training namespace holds for trainer pods: the InfluxDB token Secret and the
        model store claim (the chart's identities are granted by the caller)."""
        self.create_token_secret(namespace)
        self.create_models_claim(namespace)

    def create_token_secret(self, namespace: str) -> None:
        """The InfluxDB token Secret trainer pods read through secretKeyRef."""
        self.core.create_namespaced_secret(
            namespace,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name=INFLUX_TOKEN_SECRET),
                string_data={"token": "not-used-by-the-double"},
            ),
        )

    def create_models_claim(self, namespace: str) -> None:
        """The model store claim trainer pods mount at /models."""
        self.core.create_namespaced_persistent_volume_claim(
            namespace,
            client.V1PersistentVolumeClaim(
                metadata=client.V1ObjectMeta(name=MODELS_CLAIM),
                spec=client.V1PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteOnce"],
                    resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
                ),
            ),
        )

    def running(self, namespace: str, name: str) -> bool:
        """Whether the TrainingJob's Running condition is True."""
        conditions = self.status(namespace, name).get("conditions") or []
        return any(c["type"] == "Running" and c["status"] == "True" for c in conditions)

    def wait_handled(self, namespace: str, name: str) -> None:
        """A positive barrier: every event of the TrainingJob so far has been handled.

        Flips `spec.suspend` and waits until Kopf has recorded the flip in its diff-base
        annotation. Kopf handles one object's events in order, so by then the operator has
        handled each earlier event of this TrainingJob (whatever it was going to do, it did).
        """
        suspend = not (self.tj(namespace, name) or {})["spec"].get("suspend", False)
        self.patch_tj(namespace, name, {"spec": {"suspend": suspend}})

        def recorded() -> bool:
            annotations = (self.tj(namespace, name) or {})["metadata"].get("annotations") or {}
            base = annotations.get(DIFFBASE_ANNOTATION)
            return base is not None and json.loads(base)["spec"].get("suspend") is suspend

        wait_for(recorded, what=f"the operator to handle {name}'s suspend={suspend}")

    def wait_phase(
        self, namespace: str, name: str, phase: str, timeout: float = WAIT_S
    ) -> dict[str, Any]:
        status: dict[str, Any] = wait_for(
            lambda: (s := self.status(namespace, name)).get("phase") == phase and s,
            timeout,
            f"{namespace}/{name} to reach {phase}",
        )
        return status

    def close(self) -> None:
        self.api.close()


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    found = next((c for c in status.get("conditions") or [] if c["type"] == type_), None)
    assert found is not None, f"no {type_} condition in {status}"
    return found


def succeeded_message(result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "phase": "Succeeded",
        "reason": "TrainingSucceeded",
        "message": "model saved",
        "result": result
        or {
            "modelPath": "electricity/meter1/versions/20260101T000000Z/model.keras",
            "dataPoints": 3600,
            "trainingCompleted": "2026-01-01T00:00:00Z",
        },
    }


# --- On the real control plane ------------------------------------------------------------


def bearer_client(server: str, ca_file: Path, token: str) -> client.ApiClient:
    """An ApiClient that authenticates with `token` only (a ServiceAccount's bound token)."""
    configuration = client.Configuration()
    configuration.host = server
    configuration.ssl_ca_cert = str(ca_file)
    configuration.api_key = {"authorization": f"Bearer {token}"}
    configuration.retries = False
    return client.ApiClient(configuration)


def chart_rbac(component: str, release_namespace: str) -> list[dict[str, Any]]:
    """The chart's ServiceAccount, Roles and RoleBindings of `component`, rendered by helm for
    a release whose training namespace is its own."""
    import yaml

    helm = Path(sys.executable).with_name("helm")
    chart = Path(__file__).resolve().parents[3] / "charts" / "wattcast"
    rendered = subprocess.run(
        [str(helm), "template", "wattcast", str(chart), "--namespace", release_namespace],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        doc
        for doc in yaml.safe_load_all(rendered)
        if doc
        and doc["kind"] in ("ServiceAccount", "Role", "RoleBinding")
        and doc["metadata"]["name"].endswith(f"-{component}")
    ]


def operator_under_chart_rbac(
    cluster: Any, admin: client.ApiClient, namespace: str, workdir: Path
) -> OperatorProcess:
    """A started operator watching `namespace` as the chart's operator ServiceAccount, with
    the chart's Role and RoleBinding applied there (`cluster`: a started DevCluster)."""
    from wattcast.devtools.cluster.access import apply, service_account_kubeconfig

    objects = chart_rbac("operator", namespace)
    assert {o["kind"] for o in objects} == {"ServiceAccount", "Role", "RoleBinding"}
    apply(cluster.kubeconfig, objects)
    (account,) = [o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"]
    kubeconfig = service_account_kubeconfig(
        admin,
        cluster.server,
        cluster.control_plane.ca_file,
        namespace,
        account,
        workdir / f"operator-{namespace}.kubeconfig",
    )
    return OperatorProcess(
        kubeconfig, workdir, operator_env(workdir, WATTCAST_NAMESPACES=namespace)
    ).start()
