"""Fixtures of the Kueue tests: real Kueue (the session's ``kueue``) admits the Jobs of the real
operator on the real control plane; the process kubelet runs the trainer double.

- ``kueue_namespace`` (function): a namespace Kueue manages, set up as the chart sets up a
  training namespace (the operator's and the trainer's RBAC, the token Secret, the model
  store claim), with an operator of the test's own watching it.
- ``queues`` (function): the test's Kueue objects (:class:`~kueuekit.Queues`): a ClusterQueue
  of its own, the chart's LocalQueue and WorkloadPriorityClasses, Workloads to look at.

The operator tests' helpers (operatorkit.py) and the fixtures ``k8s`` and
``operator_kubeconfig`` are shared (tests/integration/conftest.py): the trainer double ends as
a test instructs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kueuekit import Queues
from operatorkit import K8s, OperatorProcess, operator_env

from wattcast.devtools.cluster.chart import ChartIdentities
from wattcast.devtools.cluster.kueue import Kueue


@pytest.fixture
def kueue_namespace(
    kueue: Kueue,
    namespace: str,
    chart_identities: ChartIdentities,
    k8s: K8s,
    operator_kubeconfig: Path,
    tmp_path: Path,
) -> Iterator[str]:
    kueue.manage(namespace)
    chart_identities.grant(namespace, "operator")
    chart_identities.grant(namespace, "trainer")
    k8s.prepare_training_namespace(namespace)
    env = operator_env(tmp_path, WATTCAST_NAMESPACES=namespace)
    running = OperatorProcess(operator_kubeconfig, tmp_path, env).start()
    try:
        yield namespace
    finally:
        running.stop()


@pytest.fixture
def queues(kueue: Kueue, kueue_namespace: str, kube: client.ApiClient) -> Iterator[Queues]:
    made = Queues(kube, kueue.control_plane.kubeconfig, kueue_namespace)
    try:
        yield made
    finally:
        made.delete()
