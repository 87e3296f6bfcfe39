"""Fixtures for the operator's integration tests: the real `wattcast-operator` process (Kopf,
the kubernetes client) on the session's real control plane, under the chart's operator
ServiceAccount, with the real Job controller and the process kubelet running the pods.

- ``training_namespace`` (function): the test's namespace set up as the chart sets up a
  training namespace: the operator's and the trainer's Roles and bindings (and the trainer's
  ServiceAccount), the InfluxDB token Secret and the model store claim.
- ``start_operator`` (function): starts an operator of the test's own watching exactly the
  test's namespace, as the chart's default (a Role per training namespace, no cluster-wide
  rights) deploys it, with extra WATTCAST_* settings; stopped after the test.
- ``operator`` (function): one such operator with the default settings.

``k8s`` (the admin client) and ``operator_kubeconfig`` (the chart's operator identity) are
shared with the Kueue tests (tests/integration/conftest.py).

Trainer pods run the trainer double (trainer-double/wattcast-trainer): each waits for the
test's instruction (``K8s.instruct``) and ends as told; the real Job controller decides what
becomes of the Job. Helpers live in operatorkit.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client
from operatorkit import K8s, OperatorProcess, operator_env

from wattcast.devtools.cluster.chart import ChartIdentities


@pytest.fixture
def training_namespace(
    namespace: str, chart_identities: ChartIdentities, k8s: K8s, kube: client.ApiClient
) -> str:
    chart_identities.grant(namespace, "operator")
    chart_identities.grant(namespace, "trainer")
    k8s.prepare_training_namespace(namespace)
    return namespace


@pytest.fixture
def start_operator(
    training_namespace: str, operator_kubeconfig: Path, tmp_path: Path
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start an operator on the test's namespace with extra WATTCAST_* settings."""
    started: list[OperatorProcess] = []

    def factory(**extra: str) -> OperatorProcess:
        env = operator_env(tmp_path, WATTCAST_NAMESPACES=training_namespace, **extra)
        running = OperatorProcess(operator_kubeconfig, tmp_path, env).start()
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in started:
            running.stop()


@pytest.fixture
def operator(start_operator: Callable[..., OperatorProcess]) -> OperatorProcess:
    return start_operator()
