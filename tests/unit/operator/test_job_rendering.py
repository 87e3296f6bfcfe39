"""The Job the operator renders for a TrainingJob (docs/design.md §3, §3.1): a pure function."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from wattcast.crd import InfluxSource, TrainingJob, constants
from wattcast.operator.rendering import (
    identity_matches,
    is_owned_by,
    missing_labels,
    render_job,
    render_trainer_identity,
    trainer_identity_name,
)
from wattcast.operator.settings import OperatorSettings

FLUX = InfluxSource.model_validate(
    {
        "name": "default",
        "url": "http://influx.example:8086",
        "dialect": "flux",
        "org": "energy",
        "bucket": "meters",
        "tokenSecret": {"name": "influx-token", "key": "token"},
    }
)
INFLUXQL = InfluxSource.model_validate(
    {"name": "legacy", "url": "http://old:8086", "dialect": "influxql", "database": "energy"}
)


def make_tj(name: str = "tj-render", **spec: Any) -> TrainingJob:
    body = {
        "apiVersion": constants.API_VERSION,
        "kind": constants.KIND,
        "metadata": {"name": name, "namespace": "ns-a", "uid": "uid-123", "generation": 1},
        "spec": {
            "meterId": "meter1",
            "meterType": "electricity",
            "start": "2023-01-01T00:00:00Z",
            "end": "2023-06-01T00:00:00Z",
            **spec,
        },
    }
    return TrainingJob.model_validate(body)


@pytest.fixture
def settings() -> OperatorSettings:
    return OperatorSettings(trainer_image="registry.example/trainer:1", models_claim="models-pvc")


def container(job: dict[str, Any]) -> dict[str, Any]:
    containers = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]  # type: ignore[no-any-return]


def env_of(job: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(job)["env"]}


def test_job_takes_the_trainingjob_name_and_is_owned_by_it(settings: OperatorSettings) -> None:
    job = render_job(make_tj(), FLUX, settings)
    assert job["metadata"]["name"] == "tj-render"
    assert job["metadata"]["namespace"] == "ns-a"
    (owner,) = job["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "wattcast.dev/v1alpha1",
        "kind": "TrainingJob",
        "name": "tj-render",
        "uid": "uid-123",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert is_owned_by(job, "uid-123")
    assert not is_owned_by(job, "uid-other")


def test_job_is_valid_against_the_kubernetes_schema(settings: OperatorSettings) -> None:
    tj = make_tj(
        queueName="training",
        priorityClass="low",
        resources={"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
        activeDeadlineSeconds=3600,
        ttlSecondsAfterFinished=600,
    )
    job = render_job(tj, FLUX, settings)
    kubernetes_validate.validate(job, "1.33", strict=True)


def test_job_runs_the_trainer_once_per_pod_with_retries_bounded(
    settings: OperatorSettings,
) -> None:
    job = render_job(make_tj(), FLUX, settings)
    spec = job["spec"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["backoffLimit"] == settings.default_backoff_limit == 3
    assert "activeDeadlineSeconds" not in spec
    assert "ttlSecondsAfterFinished" not in spec
    assert spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "Failed"
    explicit = render_job(
        make_tj(backoffLimit=0, activeDeadlineSeconds=60, ttlSecondsAfterFinished=5),
        FLUX,
        settings,
    )["spec"]
    assert (explicit["backoffLimit"], explicit["activeDeadlineSeconds"]) == (0, 60)
    assert explicit["ttlSecondsAfterFinished"] == 5


def test_pod_failure_policy_fails_on_permanent_exit_and_ignores_disruption(
    settings: OperatorSettings,
) -> None:
    rules = render_job(make_tj(), FLUX, settings)["spec"]["podFailurePolicy"]["rules"]
    assert rules[0] == {
        "action": "FailJob",
        "onExitCodes": {"containerName": "trainer", "operator": "In", "values": [2]},
    }
    assert rules[1] == {
        "action": "Ignore",
        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
    }


def test_pod_and_container_follow_the_restricted_profile(settings: OperatorSettings) -> None:
    job = render_job(make_tj(), FLUX, settings)
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        # The trainer image's numeric user; fsGroup lets it write to the models claim.
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    sc = container(job)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["runAsNonRoot"] is True
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}


def test_trainer_pod_matches_the_contract(settings: OperatorSettings) -> None:
    job = render_job(make_tj(), FLUX, settings)
    pod = job["spec"]["template"]["spec"]
    c = container(job)
    assert c["name"] == "trainer"
    assert c["image"] == "registry.example/trainer:1"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["command"] == ["wattcast-trainer"]
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert pod["serviceAccountName"] == "wattcast-trainer-tj-render"
    assert pod["automountServiceAccountToken"] is True
    assert "imagePullSecrets" not in pod
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert set(mounts) == {"/models", "/tmp"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/models"]]["persistentVolumeClaim"] == {"claimName": "models-pvc"}
    assert volumes[mounts["/tmp"]]["emptyDir"] == {}
    assert env_of(job) == {
        "WATTCAST_TRAININGJOB_NAME": "tj-render",
        "WATTCAST_TRAININGJOB_NAMESPACE": "ns-a",
        "WATTCAST_MODELS_DIR": "/models",
        "INFLUX_URL": "http://influx.example:8086",
        "INFLUX_DIALECT": "flux",
        "INFLUX_ORG": "energy",
        "INFLUX_BUCKET": "meters",
        "INFLUX_TOKEN": {"secretKeyRef": {"name": "influx-token", "key": "token"}},
    }


def test_influxql_source_without_token_sets_database_and_no_token(
    settings: OperatorSettings,
) -> None:
    env = env_of(render_job(make_tj(), INFLUXQL, settings))
    assert env["INFLUX_DIALECT"] == "influxql"
    assert env["INFLUX_DATABASE"] == "energy"
    assert "INFLUX_TOKEN" not in env
    assert "INFLUX_BUCKET" not in env


def test_resources_are_copied_to_the_trainer(settings: OperatorSettings) -> None:
    tj = make_tj(resources={"requests": {"cpu": "500m"}, "limits": {"memory": "1Gi"}})
    assert container(render_job(tj, FLUX, settings))["resources"] == {
        "requests": {"cpu": "500m"},
        "limits": {"memory": "1Gi"},
    }


def test_kueue_job_is_labelled_and_created_suspended(settings: OperatorSettings) -> None:
    job = render_job(make_tj(queueName="training", priorityClass="low"), FLUX, settings)
    labels = job["metadata"]["labels"]
    assert labels["kueue.x-k8s.io/queue-name"] == "training"
    assert labels["kueue.x-k8s.io/priority-class"] == "low"
    assert job["spec"]["suspend"] is True
    # Kueue's labels belong on the Job only, not the pods.
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert "kueue.x-k8s.io/queue-name" not in pod_labels


def test_suspended_trainingjob_gets_a_suspended_job(settings: OperatorSettings) -> None:
    assert render_job(make_tj(suspend=True), FLUX, settings)["spec"]["suspend"] is True


def test_job_and_pods_carry_the_standard_labels(settings: OperatorSettings) -> None:
    job = render_job(make_tj(), FLUX, settings)
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels["wattcast.dev/trainingjob"] == "tj-render"
        assert labels["app.kubernetes.io/name"] == "wattcast"
        assert labels["app.kubernetes.io/instance"] == "tj-render"
        assert labels["app.kubernetes.io/component"] == "trainer"
        assert labels["app.kubernetes.io/managed-by"] == "wattcast-operator"
        assert labels["wattcast.dev/meter-type"] == "electricity"
        assert labels["wattcast.dev/meter-id"] == "meter1"


def test_existing_labels_are_never_overwritten() -> None:
    tj = make_tj()
    tj.metadata.labels = {"wattcast.dev/meter-type": "electricity", "team": "x"}
    assert missing_labels(tj) == {
        "wattcast.dev/meter-id": "meter1",
        "app.kubernetes.io/part-of": "wattcast",
    }


def test_a_trainingjob_without_uid_cannot_own_a_job(settings: OperatorSettings) -> None:
    tj = make_tj()
    tj.metadata.uid = None
    with pytest.raises(ValueError, match="no uid"):
        render_job(tj, FLUX, settings)


def test_trainer_pods_get_the_configured_image_pull_secrets() -> None:
    settings = OperatorSettings(trainer_image_pull_secrets="registry-a,registry-b")
    pod = render_job(make_tj(), FLUX, settings)["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "registry-a"}, {"name": "registry-b"}]


# --- The trainer's own identity ------------------------------------------------------------


def identity(tj: TrainingJob | None = None) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in render_trainer_identity(tj or make_tj())}


def test_identity_is_a_service_account_role_and_binding_in_creation_order() -> None:
    kinds = [o["kind"] for o in render_trainer_identity(make_tj())]
    assert kinds == ["ServiceAccount", "Role", "RoleBinding"]


def test_identity_objects_are_named_for_and_owned_by_the_trainingjob() -> None:
    for obj in render_trainer_identity(make_tj()):
        meta = obj["metadata"]
        assert meta["name"] == "wattcast-trainer-tj-render"
        assert meta["namespace"] == "ns-a"
        assert meta["labels"]["wattcast.dev/trainingjob"] == "tj-render"
        (owner,) = meta["ownerReferences"]
        assert owner["uid"] == "uid-123"
        assert owner["controller"] is True
        assert is_owned_by(obj, "uid-123")


def test_role_names_only_its_own_trainingjob_and_only_what_the_trainer_calls() -> None:
    assert identity()["Role"]["rules"] == [
        {
            "apiGroups": ["wattcast.dev"],
            "resources": ["trainingjobs"],
            "resourceNames": ["tj-render"],
            "verbs": ["get"],
        },
        {
            "apiGroups": ["wattcast.dev"],
            "resources": ["trainingjobs/status"],
            "resourceNames": ["tj-render"],
            "verbs": ["patch"],
        },
    ]


def test_binding_ties_the_role_to_the_service_account_of_the_same_namespace() -> None:
    binding = identity()["RoleBinding"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "wattcast-trainer-tj-render",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "wattcast-trainer-tj-render", "namespace": "ns-a"}
    ]


def test_service_account_mounts_no_token_by_itself() -> None:
    assert identity()["ServiceAccount"]["automountServiceAccountToken"] is False


def test_the_job_runs_as_the_rendered_identity(settings: OperatorSettings) -> None:
    tj = make_tj()
    pod = render_job(tj, FLUX, settings)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == identity(tj)["ServiceAccount"]["metadata"]["name"]


def test_identity_of_the_longest_name_fits_kubernetes_limits() -> None:
    longest = "a" * 63
    name = trainer_identity_name(make_tj(longest))
    assert len(name) <= 253  # a ServiceAccount's name: a DNS subdomain
    for obj in render_trainer_identity(make_tj(longest)):
        kubernetes_validate.validate(obj, "1.33", strict=True)


def test_identity_is_valid_against_the_kubernetes_schema() -> None:
    for obj in render_trainer_identity(make_tj("tj.with.dots")):
        kubernetes_validate.validate(obj, "1.33", strict=True)


def test_distinct_trainingjobs_get_distinct_identities() -> None:
    names = {trainer_identity_name(make_tj(n)) for n in ("a", "a-trainer", "wattcast-trainer-a")}
    assert len(names) == 3


def stored(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` as the API server hands it back: server fields added, empty lists dropped."""
    back = copy.deepcopy(obj)
    back["metadata"]["uid"] = "server-uid"
    back["metadata"]["resourceVersion"] = "7"
    return back


@pytest.mark.parametrize("kind", ["ServiceAccount", "Role", "RoleBinding"])
def test_our_own_identity_object_is_adopted(kind: str) -> None:
    wanted = identity()[kind]
    assert identity_matches(stored(wanted), wanted, "uid-123")


@pytest.mark.parametrize("kind", ["ServiceAccount", "Role", "RoleBinding"])
def test_an_identity_object_of_another_owner_is_not_adopted(kind: str) -> None:
    wanted = identity()[kind]
    other = stored(wanted)
    other["metadata"]["ownerReferences"][0]["uid"] = "uid-other"
    assert not identity_matches(other, wanted, "uid-123")
    del other["metadata"]["ownerReferences"]
    assert not identity_matches(other, wanted, "uid-123")


def test_our_role_with_wider_rules_is_not_adopted() -> None:
    wanted = identity()["Role"]
    widened = stored(wanted)
    del widened["rules"][1]["resourceNames"]
    assert not identity_matches(widened, wanted, "uid-123")


def test_our_binding_to_another_subject_is_not_adopted() -> None:
    wanted = identity()["RoleBinding"]
    other = stored(wanted)
    other["subjects"].append({"kind": "ServiceAccount", "name": "intruder", "namespace": "ns-a"})
    assert not identity_matches(other, wanted, "uid-123")
