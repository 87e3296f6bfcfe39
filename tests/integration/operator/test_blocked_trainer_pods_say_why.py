"""A trainer pod that cannot start says why on its TrainingJob: a training namespace without
the InfluxDB token Secret or without the model store claim, or a trainer image that cannot be
pulled, shows the `Blocked` condition naming the missing thing (never a pod stuck with nothing
on the TrainingJob). Kubernetes keeps retrying: once the thing exists the pod starts and the
condition clears. On the real control plane; the process kubelet reports the waiting reasons
a kubelet reports (ErrImagePull for an image of a `.invalid` registry)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from operatorkit import K8s, OperatorProcess, condition, operator_env, wait_for

from wattcast.devtools.cluster.chart import ChartIdentities

UNPULLABLE = "registry.invalid/wattcast-trainer:0"


@pytest.fixture
def bare_namespace(
    namespace: str,
    chart_identities: ChartIdentities,
    operator_kubeconfig: Path,
    tmp_path: Path,
) -> Iterator[str]:
    """The test's namespace with the chart's identities only (no Secret, no claim), watched
    by an operator of its own."""
    chart_identities.grant(namespace, "operator")
    chart_identities.grant(namespace, "trainer")
    env = operator_env(tmp_path, WATTCAST_NAMESPACES=namespace)
    running = OperatorProcess(operator_kubeconfig, tmp_path, env).start()
    try:
        yield namespace
    finally:
        running.stop()


def blocked(k8s: K8s, namespace: str, name: str) -> dict[str, Any] | None:
    found = next(
        (c for c in k8s.status(namespace, name).get("conditions") or [] if c["type"] == "Blocked"),
        None,
    )
    return found if found is not None and found["status"] == "True" else None


def test_a_missing_token_secret_is_named_until_it_exists(k8s: K8s, bare_namespace: str) -> None:
    namespace = bare_namespace
    k8s.create_models_claim(namespace)
    k8s.create_tj(namespace, "tj-no-secret")
    found = wait_for(lambda: blocked(k8s, namespace, "tj-no-secret"), what="Blocked")
    assert found["reason"] == "CreateContainerConfigError"
    assert 'secret "influx-token" not found' in found["message"]
    status = k8s.status(namespace, "tj-no-secret")
    assert status["phase"] == "Pending"
    assert 'secret "influx-token" not found' in status["message"]

    k8s.create_token_secret(namespace)
    wait_for(lambda: not blocked(k8s, namespace, "tj-no-secret"), what="the pod to start")
    assert condition(k8s.status(namespace, "tj-no-secret"), "Blocked")["reason"] == "PodStarted"
    wait_for(lambda: k8s.running(namespace, "tj-no-secret"), what="Running")


def test_a_missing_models_claim_is_named(k8s: K8s, bare_namespace: str) -> None:
    namespace = bare_namespace
    k8s.create_token_secret(namespace)
    k8s.create_tj(namespace, "tj-no-claim")
    found = wait_for(lambda: blocked(k8s, namespace, "tj-no-claim"), what="Blocked")
    assert found["reason"] == "Unschedulable"
    assert 'persistentvolumeclaim "wattcast-models" not found' in found["message"]
    assert k8s.status(namespace, "tj-no-claim")["phase"] == "Pending"


def test_an_image_that_cannot_be_pulled_is_named(
    start_operator: Callable[..., OperatorProcess], k8s: K8s, namespace: str
) -> None:
    start_operator(WATTCAST_TRAINER_IMAGE=UNPULLABLE)
    k8s.create_tj(namespace, "tj-no-image")
    found = wait_for(lambda: blocked(k8s, namespace, "tj-no-image"), what="Blocked")
    assert found["reason"] == "ErrImagePull"
    assert UNPULLABLE in found["message"]
    assert k8s.status(namespace, "tj-no-image")["phase"] == "Pending"
