"""On the real control plane (kube-apiserver with RBAC, the garbage collector): the operator,
running under the chart's own RBAC, gives each TrainingJob's trainer an identity of its own,
and that identity may read its TrainingJob and patch its status, and nothing of any other
TrainingJob (403), so a compromised trainer cannot forge another job's result. The identity
goes with its TrainingJob; a name taken by someone else fails the TrainingJob, never shares.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from operatorkit import (
    OperatorProcess,
    bearer_client,
    condition,
    free_port,
    operator_under_chart_rbac,
    wait_for,
)
from testkit import control_plane_only, tj_body

from wattcast.crd import TrainingJob, constants
from wattcast.devtools.cluster.access import (
    api_client,
    apply,
    create_namespace,
    service_account_kubeconfig,
    service_account_token,
)
from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.operator.rendering import render_trainer_identity

GVP = (constants.GROUP, constants.VERSION)
WAIT_S = 60.0


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    with control_plane_only(tmp_path_factory.mktemp("rbac-cp")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def admin(control_plane: DevCluster) -> Iterator[client.ApiClient]:
    api = api_client(control_plane.kubeconfig)
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def namespace(admin: client.ApiClient) -> str:
    name = f"rbac-{uuid.uuid4().hex[:8]}"
    create_namespace(admin, name)
    return name


@pytest.fixture(scope="module")
def operator(
    control_plane: DevCluster,
    admin: client.ApiClient,
    namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    """The operator under the ServiceAccount, Role and RoleBinding the chart renders."""
    workdir = tmp_path_factory.mktemp("rbac-operator")
    running = operator_under_chart_rbac(control_plane, admin, namespace, workdir)
    try:
        yield running
    finally:
        running.stop()


def _create_tj(admin: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    body = tj_body(name, meterId=f"meter-{name}")
    result: dict[str, Any] = client.CustomObjectsApi(admin).create_namespaced_custom_object(
        *GVP, namespace, constants.PLURAL, body
    )
    return result


def _status(admin: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    obj = client.CustomObjectsApi(admin).get_namespaced_custom_object(
        *GVP, namespace, constants.PLURAL, name
    )
    return dict(obj.get("status") or {})


@pytest.fixture(scope="module")
def two_jobs(
    admin: client.ApiClient, namespace: str, operator: OperatorProcess
) -> tuple[dict[str, Any], dict[str, Any]]:
    a = _create_tj(admin, namespace, "tj-a")
    b = _create_tj(admin, namespace, "tj-b")
    for name in ("tj-a", "tj-b"):
        wait_for(
            lambda n=name: _status(admin, namespace, n).get("jobName"),  # type: ignore[misc]
            timeout=WAIT_S,
            what=f"{name}'s Job ({operator.log()[-3000:]})",
        )
    return a, b


def _trainer_of(
    control_plane: DevCluster, admin: client.ApiClient, namespace: str, name: str
) -> client.CustomObjectsApi:
    token = service_account_token(admin, namespace, f"wattcast-trainer-{name}", seconds=600)
    api = bearer_client(control_plane.server, control_plane.control_plane.ca_file, token)
    return client.CustomObjectsApi(api)


def _forbidden(call: Callable[[], Any]) -> None:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 403, caught.value.body


FORGED = {
    "status": {
        "phase": "Saving",
        "progress": 99,
        "message": "forged",
        "result": {
            "modelPath": "electricity/meter-tj-a/versions/v1/model.keras",
            "dataPoints": 1,
            "trainingCompleted": "2024-03-01T00:00:00Z",
        },
    }
}


def test_each_trainingjob_gets_its_own_identity_owned_by_it(
    admin: client.ApiClient, namespace: str, two_jobs: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    core, rbac = client.CoreV1Api(admin), client.RbacAuthorizationV1Api(admin)
    batch = client.BatchV1Api(admin)
    for tj in two_jobs:
        name = tj["metadata"]["name"]
        identity = f"wattcast-trainer-{name}"
        objects = [
            core.read_namespaced_service_account(identity, namespace),
            rbac.read_namespaced_role(identity, namespace),
            rbac.read_namespaced_role_binding(identity, namespace),
        ]
        for obj in objects:
            (owner,) = obj.metadata.owner_references
            assert (owner.kind, owner.name, owner.uid) == (
                "TrainingJob",
                name,
                tj["metadata"]["uid"],
            )
            assert owner.controller is True
        role = objects[1]
        assert {tuple(r.resource_names) for r in role.rules} == {(name,)}
        pod = batch.read_namespaced_job(name, namespace).spec.template.spec
        assert pod.service_account_name == identity
        assert pod.automount_service_account_token is True


def test_a_trainer_reads_and_patches_only_its_own_trainingjob(
    control_plane: DevCluster,
    admin: client.ApiClient,
    namespace: str,
    two_jobs: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    trainer_a = _trainer_of(control_plane, admin, namespace, "tj-a")
    # Its own: read, and report progress and a result.
    own = trainer_a.get_namespaced_custom_object(*GVP, namespace, constants.PLURAL, "tj-a")
    assert own["metadata"]["name"] == "tj-a"
    patched = trainer_a.patch_namespaced_custom_object_status(
        *GVP, namespace, constants.PLURAL, "tj-a", FORGED
    )
    assert patched["status"]["progress"] == 99

    # Anyone else's: 403 for reading, for patching its status, for listing.
    _forbidden(
        lambda: trainer_a.get_namespaced_custom_object(*GVP, namespace, constants.PLURAL, "tj-b")
    )
    _forbidden(
        lambda: trainer_a.patch_namespaced_custom_object_status(
            *GVP, namespace, constants.PLURAL, "tj-b", FORGED
        )
    )
    _forbidden(
        lambda: trainer_a.get_namespaced_custom_object_status(
            *GVP, namespace, constants.PLURAL, "tj-b"
        )
    )
    _forbidden(lambda: trainer_a.list_namespaced_custom_object(*GVP, namespace, constants.PLURAL))
    assert _status(admin, namespace, "tj-b").get("progress") != 99  # untouched


def test_a_trainer_cannot_change_its_own_spec_or_delete_it(
    control_plane: DevCluster,
    admin: client.ApiClient,
    namespace: str,
    two_jobs: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    trainer_a = _trainer_of(control_plane, admin, namespace, "tj-a")
    _forbidden(
        lambda: trainer_a.patch_namespaced_custom_object(
            *GVP, namespace, constants.PLURAL, "tj-a", {"spec": {"suspend": True}}
        )
    )
    _forbidden(
        lambda: trainer_a.delete_namespaced_custom_object(*GVP, namespace, constants.PLURAL, "tj-a")
    )
    # Nor anything else in the namespace: its Job, pods, Secrets.
    api = trainer_a.api_client
    _forbidden(lambda: client.BatchV1Api(api).read_namespaced_job("tj-a", namespace))
    _forbidden(lambda: client.CoreV1Api(api).list_namespaced_secret(namespace))


def test_the_identity_goes_with_its_trainingjob(
    admin: client.ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    _create_tj(admin, namespace, "tj-gone")
    wait_for(lambda: _status(admin, namespace, "tj-gone").get("jobName"), timeout=WAIT_S)
    client.CustomObjectsApi(admin).delete_namespaced_custom_object(
        *GVP, namespace, constants.PLURAL, "tj-gone", propagation_policy="Background"
    )
    rbac, core = client.RbacAuthorizationV1Api(admin), client.CoreV1Api(admin)

    def gone() -> bool:
        names = {
            *(o.metadata.name for o in core.list_namespaced_service_account(namespace).items),
            *(o.metadata.name for o in rbac.list_namespaced_role(namespace).items),
            *(o.metadata.name for o in rbac.list_namespaced_role_binding(namespace).items),
        }
        return "wattcast-trainer-tj-gone" not in names

    wait_for(gone, timeout=WAIT_S, what="the garbage collector to remove the identity")


def test_an_identity_name_taken_by_someone_else_fails_the_trainingjob(
    admin: client.ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    client.CoreV1Api(admin).create_namespaced_service_account(
        namespace,
        client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="wattcast-trainer-tj-taken")),
    )
    _create_tj(admin, namespace, "tj-taken")
    status = wait_for(
        lambda: (s := _status(admin, namespace, "tj-taken")).get("phase") == "Failed" and s,
        timeout=WAIT_S,
        what="the TrainingJob to fail",
    )
    failed = condition(status, "Failed")
    assert failed["reason"] == "TrainerIdentityConflict"
    assert "wattcast-trainer-tj-taken" in failed["message"]
    jobs = client.BatchV1Api(admin).list_namespaced_job(namespace).items
    assert "tj-taken" not in {job.metadata.name for job in jobs}  # it never ran


def test_the_operator_holds_no_rights_beyond_the_charts(
    control_plane: DevCluster, admin: client.ApiClient, namespace: str, operator: OperatorProcess
) -> None:
    """The identities above were made under the chart's Role alone (no bind or escalate):
    RBAC's escalation check passed because the operator holds what it grants."""
    role = client.RbacAuthorizationV1Api(admin).read_namespaced_role("wattcast-operator", namespace)
    verbs = {verb for rule in role.rules for verb in rule.verbs}
    assert not verbs & {"bind", "escalate", "impersonate", "*"}


def test_an_identity_left_by_an_earlier_run_is_adopted_and_a_widened_one_refused(
    control_plane: DevCluster, admin: client.ApiClient, tmp_path: Path
) -> None:
    """What a restart between "identity created" and "Job created" finds is adopted; an
    identity of ours whose Role someone widened is not used: the TrainingJob fails."""
    namespace = f"adopt-{uuid.uuid4().hex[:8]}"
    create_namespace(admin, namespace)
    ours = _create_tj(admin, namespace, "tj-ours")
    widened = _create_tj(admin, namespace, "tj-widened")
    apply(control_plane.kubeconfig, render_trainer_identity(TrainingJob.model_validate(ours)))
    tampered = render_trainer_identity(TrainingJob.model_validate(widened))
    for obj in tampered:
        if obj["kind"] == "Role":
            for rule in obj["rules"]:
                del rule["resourceNames"]  # every TrainingJob of the namespace
    apply(control_plane.kubeconfig, tampered)
    rbac = client.RbacAuthorizationV1Api(admin)
    before = rbac.read_namespaced_role("wattcast-trainer-tj-ours", namespace).metadata.uid

    operator = operator_under_chart_rbac(control_plane, admin, namespace, tmp_path)
    try:
        status = wait_for(
            lambda: (s := _status(admin, namespace, "tj-ours")).get("jobName") and s,
            timeout=WAIT_S,
            what="tj-ours' Job",
        )
        assert condition(status, "JobCreated")["reason"] == "JobCreated"
        after = rbac.read_namespaced_role("wattcast-trainer-tj-ours", namespace).metadata.uid
        assert after == before  # adopted, not replaced

        failed = wait_for(
            lambda: (s := _status(admin, namespace, "tj-widened")).get("phase") == "Failed" and s,
            timeout=WAIT_S,
            what="tj-widened to fail",
        )
        assert condition(failed, "Failed")["reason"] == "TrainerIdentityConflict"
        assert "Role named wattcast-trainer-tj-widened" in condition(failed, "Failed")["message"]
    finally:
        operator.stop()


def test_the_real_trainer_runs_within_its_identity(
    control_plane: DevCluster,
    admin: client.ApiClient,
    namespace: str,
    operator: OperatorProcess,
    tmp_path: Path,
) -> None:
    """`wattcast-trainer` in pod mode, as its TrainingJob's ServiceAccount: every call it makes
    is one its Role allows (it reads its TrainingJob and reports into its status), and what it
    reports about an unreachable InfluxDB names the source, not the address."""
    _create_tj(admin, namespace, "tj-run")
    wait_for(lambda: _status(admin, namespace, "tj-run").get("jobName"), timeout=WAIT_S)
    kubeconfig = service_account_kubeconfig(
        admin,
        control_plane.server,
        control_plane.control_plane.ca_file,
        namespace,
        "wattcast-trainer-tj-run",
        tmp_path / "trainer.kubeconfig",
    )
    port = free_port()  # nothing listens there
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WATTCAST_", "INFLUX_"))},
        "KUBECONFIG": str(kubeconfig),
        "WATTCAST_TRAININGJOB_NAME": "tj-run",
        "WATTCAST_TRAININGJOB_NAMESPACE": namespace,
        "WATTCAST_MODELS_DIR": str(tmp_path / "models"),
        "WATTCAST_TERMINATION_LOG": str(tmp_path / "termination-log"),
        "INFLUX_URL": f"http://admin:pw@127.0.0.1:{port}",
        "INFLUX_DIALECT": "influxql",
        "INFLUX_DATABASE": "energy",
    }
    env.pop("KUBERNETES_SERVICE_HOST", None)
    trainer = Path(sys.executable).with_name("wattcast-trainer")
    done = subprocess.run(
        [str(trainer)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "403" not in done.stderr and "Forbidden" not in done.stderr, done.stderr[-3000:]
    expected = "InfluxUnavailable: InfluxDB source 'default' is unreachable"
    assert wait_for(
        lambda: _status(admin, namespace, "tj-run").get("message") == expected,
        timeout=WAIT_S,
        what="the trainer's own status patch",
    )
    termination = json.loads((tmp_path / "termination-log").read_text())
    assert termination["message"] == "InfluxDB source 'default' is unreachable"
    for text in (json.dumps(_status(admin, namespace, "tj-run")), json.dumps(termination)):
        assert "127.0.0.1" not in text and str(port) not in text and "pw" not in text
