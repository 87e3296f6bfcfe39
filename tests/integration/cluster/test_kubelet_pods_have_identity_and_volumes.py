"""What a pod process gets: its ServiceAccount's token (and only its rights), shared claims."""

from __future__ import annotations

import sys
import textwrap

from kubeletkit import Pods
from kubernetes import client
from testkit import wait_for

# Runs in the pod: in-cluster config, a call the ServiceAccount may make, one it may not.
IN_CLUSTER = textwrap.dedent(
    """
    import os
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    config.load_incluster_config()
    ns = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
    core = client.CoreV1Api()
    names = [p.metadata.name for p in core.list_namespaced_pod(ns).items]
    try:
        core.list_namespaced_secret(ns)
        secrets = "allowed"
    except ApiException as error:
        secrets = str(error.status)
    with open("/dev/termination-log", "w") as out:
        out.write(f"{os.environ['POD_NAME'] in names} {secrets}")
    """
)


def test_a_pod_calls_the_api_under_its_own_service_account(pods: Pods) -> None:
    rbac = client.RbacAuthorizationV1Api(pods.core.api_client)
    ns = pods.namespace
    pods.core.create_namespaced_service_account(ns, {"metadata": {"name": "reader"}})
    rbac.create_namespaced_role(
        ns,
        {
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        ns,
        {
            "metadata": {"name": "reader"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "pod-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}],
        },
    )
    env = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    name = pods.create(
        "",
        serviceAccountName="reader",
        container={"command": ["python", "-c", IN_CLUSTER], "env": env},
    )
    pod = pods.phase(name, "Succeeded", "Failed")
    assert any(v["name"].startswith("kube-api-access-") for v in pod["spec"]["volumes"])
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated.get("message")) == (0, "True 403"), pods.log(name)


def test_the_pods_python_is_the_projects(pods: Pods) -> None:
    name = pods.create('python -c "import sys; print(sys.prefix)" > /dev/termination-log')
    pod = pods.phase(name, "Succeeded")
    assert (
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"].strip()
        == sys.prefix
    )


def test_two_pods_of_one_claim_share_its_folder(pods: Pods) -> None:
    claim = {
        "metadata": {"name": "models"},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    pods.core.create_namespaced_persistent_volume_claim(pods.namespace, claim)
    volume = {"volumes": [{"name": "store", "persistentVolumeClaim": {"claimName": "models"}}]}
    mount = {"volumeMounts": [{"name": "store", "mountPath": "/models"}]}
    writer = pods.create("echo model-v1 > /models/model.txt", container=mount, **volume)
    pods.phase(writer, "Succeeded")
    reader = pods.create("cat /models/model.txt > /dev/termination-log", container=mount, **volume)
    pod = pods.phase(reader, "Succeeded")
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"] == "model-v1\n"
    folder = pods.kubelet.claim_folder(pods.namespace, "models")
    assert folder == pods.kubelet.workdir / "volumes" / pods.namespace / "models"
    assert (folder / "model.txt").read_text() == "model-v1\n"


def test_a_pod_of_a_missing_claim_is_not_scheduled(pods: Pods) -> None:
    volume = {"volumes": [{"name": "store", "persistentVolumeClaim": {"claimName": "absent"}}]}
    name = pods.create("true", **volume)

    def unschedulable() -> dict[str, str] | None:
        pod = pods.get(name) or {}
        conditions = pod.get("status", {}).get("conditions") or []
        return next((c for c in conditions if c.get("reason") == "Unschedulable"), None)

    condition = wait_for("the Unschedulable condition", unschedulable)
    assert 'persistentvolumeclaim "absent" not found' in condition["message"]
    assert not (pods.get(name) or {}).get("spec", {}).get("nodeName")


def test_a_pod_whose_service_account_went_waits_and_can_be_deleted(pods: Pods) -> None:
    # The ServiceAccount exists when the pod is admitted (so it gets its token volume) and is
    # gone when the kubelet mounts it, as when a TrainingJob's deletion cascades to both.
    ns = pods.namespace
    pods.core.create_namespaced_service_account(ns, {"metadata": {"name": "brief"}})
    # Another scheduler's pod: the test binds it itself, once the ServiceAccount is gone.
    name = pods.create("true", serviceAccountName="brief", schedulerName="held-back")
    pods.core.delete_namespaced_service_account("brief", ns)
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": ns},
        "target": {"apiVersion": "v1", "kind": "Node", "name": pods.kubelet.node_name},
    }
    pods.core.create_namespaced_pod_binding(name, ns, binding, _preload_content=False)

    def waiting() -> dict[str, str] | None:
        statuses = ((pods.get(name) or {}).get("status") or {}).get("containerStatuses") or []
        state = (statuses[0].get("state") or {}).get("waiting") if statuses else None
        # ContainerCreating with no message is the pod before its first mount.
        return state if state and "token" in state.get("message", "") else None

    state = wait_for("the pod to wait for its token volume", waiting)
    assert state["reason"] == "ContainerCreating"
    assert 'serviceaccounts "brief" not found' in state["message"]
    # A kubelet that gave up on the pod would leave it terminating for ever.
    pods.core.delete_namespaced_pod(name, ns, grace_period_seconds=5)
    pods.gone(name)
