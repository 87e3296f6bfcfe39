"""With WATTCAST_TRAININGJOB_RETENTION_SECONDS set, a finished TrainingJob is deleted that
long after it finished; unfinished ones stay. The count is the record's (completionTime),
so an operator started after a kill deletes on time what the one before it left.

The chart grants the operator `delete` on TrainingJobs only with
operator.trainingJobRetentionSeconds set, so the operator's Role here is the chart's rendered
with that value.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from kubernetes import client
from operatorkit import K8s, OperatorProcess, wait_for

from wattcast.devtools.cluster.chart import RELEASE_NAMESPACE, ChartIdentities
from wattcast.devtools.cluster.devcluster import DevCluster


def operator_may_delete_trainingjobs(kube: client.ApiClient, namespace: str) -> bool:
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=f"system:serviceaccount:{RELEASE_NAMESPACE}:wattcast-operator",
            groups=["system:serviceaccounts", f"system:serviceaccounts:{RELEASE_NAMESPACE}"],
            resource_attributes=client.V1ResourceAttributes(
                namespace=namespace, verb="delete", group="wattcast.dev", resource="trainingjobs"
            ),
        )
    )
    answer = client.AuthorizationV1Api(kube).create_subject_access_review(review)
    return bool(answer.status.allowed)


@pytest.fixture
def retention_rights(
    kube: client.ApiClient, devcluster: DevCluster, training_namespace: str
) -> None:
    """The operator's Role as the chart renders it with operator.trainingJobRetentionSeconds."""
    namespace = training_namespace
    assert not operator_may_delete_trainingjobs(kube, namespace)  # the chart's default
    with_retention = ChartIdentities(
        kube,
        devcluster.kubeconfig,
        devcluster.server,
        devcluster.control_plane.ca_file,
        values={"operator": {"trainingJobRetentionSeconds": 2}},
    )
    with_retention.grant(namespace, "operator")
    wait_for(lambda: operator_may_delete_trainingjobs(kube, namespace), what="the delete right")


@pytest.mark.usefixtures("retention_rights")
def test_finished_trainingjobs_are_deleted_after_retention(
    start_operator: Callable[..., OperatorProcess], k8s: K8s, namespace: str
) -> None:
    start_operator(WATTCAST_TRAININGJOB_RETENTION_SECONDS="2")
    k8s.create_tj(namespace, "tj-old", activeDeadlineSeconds=1)
    k8s.create_tj(namespace, "tj-busy")
    k8s.wait_phase(namespace, "tj-old", "Failed")
    finished = time.monotonic()
    wait_for(lambda: k8s.tj(namespace, "tj-old") is None, timeout=15, what="retention")
    assert time.monotonic() - finished > 1  # kept for (about) its retention first
    wait_for(lambda: k8s.job(namespace, "tj-old") is None, what="its Job to follow")
    assert k8s.tj(namespace, "tj-busy") is not None


@pytest.mark.usefixtures("retention_rights")
def test_a_restarted_operator_resumes_retention_from_the_record(
    start_operator: Callable[..., OperatorProcess], k8s: K8s, namespace: str
) -> None:
    # Nothing of the count is in the operator's memory: a new process reads completionTime.
    first = start_operator(WATTCAST_TRAININGJOB_RETENTION_SECONDS="5")
    k8s.create_tj(namespace, "tj-outlives", activeDeadlineSeconds=1)
    k8s.wait_phase(namespace, "tj-outlives", "Failed")
    # The timer's finalizer is on it: Kopf spawned the timer before the kill.
    wait_for(
        lambda: (k8s.tj(namespace, "tj-outlives") or {})["metadata"].get("finalizers"),
        what="the timer's finalizer",
    )
    first.kill()
    assert k8s.tj(namespace, "tj-outlives") is not None, "killed too late to test anything"
    start_operator(WATTCAST_TRAININGJOB_RETENTION_SECONDS="5")
    wait_for(lambda: k8s.tj(namespace, "tj-outlives") is None, timeout=30, what="retention")
