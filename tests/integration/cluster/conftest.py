"""The dev cluster's own tests: `pods`, a helper on the test's namespace that leaves no pod and
no process behind (the session fixtures come from wattcast.devtools.cluster.fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubeletkit import Pods, sandboxes
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from testkit import wait_for


@pytest.fixture
def pods(kube: client.ApiClient, namespace: str, devcluster: Any) -> Iterator[Pods]:
    helper = Pods(kube, namespace, devcluster.kubelet)
    yield helper
    # The test's pods go (the kubelet stops their processes) before the next test starts;
    # the Jobs first, so that no controller makes new pods.
    for job in helper.batch.list_namespaced_job(namespace).items:
        helper.batch.delete_namespaced_job(
            job.metadata.name, namespace, propagation_policy="Background"
        )
    for pod in helper.list():
        try:
            helper.core.delete_namespaced_pod(
                pod["metadata"]["name"], namespace, grace_period_seconds=1
            )
        except ApiException as error:
            if error.status != 404:
                raise
    wait_for(
        "the test's pods ended",
        lambda: (
            not [p for p in helper.list() if p["status"].get("phase") in ("Pending", "Running")]
        ),
    )
    wait_for("no process of the test's pods left", lambda: not sandboxes(namespace))
