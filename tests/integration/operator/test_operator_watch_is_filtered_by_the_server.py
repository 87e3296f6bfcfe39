"""The operator watches only its own Jobs and pods, filtered by the API server (issue 13, item 4).

Every list and every watch of Jobs and pods the operator sends carries its label selector
(`app.kubernetes.io/managed-by=wattcast-operator`), as the real kube-apiserver's audit log
records them (the session's control plane logs the URI of every list and watch of Jobs, pods and
TrainingJobs made by a ServiceAccount). A Kopf that filters on the client only (`labels=` on
the handlers) sends no selector and lists every Job in scope: this test fails on it. The
operator still follows its own Job through the filtered watch.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from operatorkit import K8s, OperatorProcess, wait_for

from wattcast.devtools.cluster.chart import RELEASE, RELEASE_NAMESPACE
from wattcast.devtools.cluster.devcluster import DevCluster

SELECTOR = "app.kubernetes.io/managed-by=wattcast-operator"
OPERATOR_USER = f"system:serviceaccount:{RELEASE_NAMESPACE}:{RELEASE}-operator"


def operator_requests(cluster: DevCluster, namespace: str) -> list[dict[str, Any]]:
    """Kopf's lists and watches in `namespace` for the operator, as the audit log records them
    (not the operator's own reads, such as its list of a finished Job's pods by `job-name`)."""
    return [
        event
        for event in cluster.control_plane.audit_events()
        if event.get("user", {}).get("username") == OPERATOR_USER
        and event.get("userAgent", "").startswith("kopf/")
        and event.get("objectRef", {}).get("namespace") == namespace
        and event.get("verb") in ("list", "watch")
    ]


def query(event: dict[str, Any]) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(event["requestURI"]).query)


def unrelated_job(name: str) -> dict[str, Any]:
    """Somebody else's Job in the operator's namespace (suspended: it never runs)."""
    labels = {"app.kubernetes.io/managed-by": "Helm", "wattcast.dev/trainingjob": name}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "suspend": True,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox:1", "command": ["true"]}],
                },
            },
        },
    }


def test_jobs_and_pods_are_listed_and_watched_with_the_operators_selector(
    devcluster: DevCluster, training_namespace: str, k8s: K8s, operator: OperatorProcess
) -> None:
    namespace = training_namespace
    k8s.create_job(namespace, unrelated_job("someone-elses"))
    # The operator's own Job still reaches it through the filtered watch: it maps the Job's
    # active pod to the Running condition (only the Job's watch event says so).
    k8s.create_tj(namespace, "tj-filtered")
    wait_for(lambda: k8s.running(namespace, "tj-filtered"), what="the Running condition")

    def listed_and_watched() -> list[dict[str, Any]] | None:
        requests = operator_requests(devcluster, namespace)
        seen = {(e["objectRef"]["resource"], e["verb"]) for e in requests}
        wanted = {(r, v) for r in ("jobs", "pods") for v in ("list", "watch")}
        return requests if wanted <= seen else None

    requests = wait_for(listed_and_watched, what="the operator's lists and watches audited")
    for event in requests:
        resource = event["objectRef"]["resource"]
        selectors = query(event).get("labelSelector", [])
        if resource in ("jobs", "pods"):
            assert selectors == [SELECTOR], f"{event['verb']} {event['requestURI']}"
        else:  # every TrainingJob in scope is the operator's: not narrowed
            assert resource == "trainingjobs"
            assert selectors == [], event["requestURI"]
    # The unrelated Job is still there, untouched, and nothing was said about it.
    job = k8s.job(namespace, "someone-elses")
    assert job is not None
    assert job["spec"]["suspend"] is True
    assert "ownerReferences" not in job["metadata"]
