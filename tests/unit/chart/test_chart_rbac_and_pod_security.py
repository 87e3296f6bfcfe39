"""The chart grants each ServiceAccount exactly its rights, and every pod it renders is restricted.

RBAC: the rendered Roles, ClusterRoles and bindings are resolved into the set of
(scope, apiGroup, resource, verb) each ServiceAccount holds, and compared with the exact set
the design allows. The chart grants trainers nothing: the operator gives each TrainingJob's
trainer a Role of its own that names only that TrainingJob, and RBAC's escalation check
means the operator must hold every right it grants there. Every rule in the RBAC templates
carries a comment.

Pod security: every pod template satisfies the restricted Pod Security Standard (non-root with a
numeric user, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp,
read-only root filesystem with an emptyDir at /tmp), and every container has resources and
probes.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "wattcast"
HELM = ROOT / ".venv" / "bin" / "helm"
NAMESPACE = "wattcast-system"
RELEASE = "wattcast"
CLUSTER = "<cluster>"

VALUE_SETS = {
    "defaults": None,
    **{path.stem: path for path in sorted((CHART / "ci").glob("*-values.yaml"))},
}

Right = tuple[str, str, str, str]  # (namespace or CLUSTER, apiGroup, resource, verb)


@functools.cache
def rendered_text(value_set: str) -> str:
    args = [str(HELM), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    if VALUE_SETS[value_set] is not None:
        args += ["--values", str(VALUE_SETS[value_set])]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@functools.cache
def rendered(value_set: str) -> tuple[dict[str, Any], ...]:
    return tuple(doc for doc in yaml.safe_load_all(rendered_text(value_set)) if doc)


def rights_of_service_accounts(objects: tuple[dict[str, Any], ...]) -> dict[str, set[Right]]:
    """Resolve bindings to rules: "<namespace>/<serviceaccount>" -> its rights."""
    roles = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o["rules"]
        for o in objects
        if o["kind"] in ("Role", "ClusterRole")
    }
    rights: dict[str, set[Right]] = {}
    for binding in objects:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        ref = binding["roleRef"]
        role_namespace = binding["metadata"]["namespace"] if ref["kind"] == "Role" else None
        rules = roles[(ref["kind"], role_namespace, ref["name"])]
        scope = binding["metadata"].get("namespace", CLUSTER)
        for subject in binding["subjects"]:
            assert subject["kind"] == "ServiceAccount"
            account = f"{subject['namespace']}/{subject['name']}"
            for rule in rules:
                assert set(rule) == {"apiGroups", "resources", "verbs"}, rule
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        for verb in rule["verbs"]:
                            assert "*" not in (group, resource, verb), rule
                            rights.setdefault(account, set()).add((scope, group, resource, verb))
    return rights


def expand(scope: str, group: str, resource: str, verbs: str) -> set[Right]:
    return {(scope, group, resource, verb) for verb in verbs.split()}


def operator_rights(scope: str, *, retention: bool, peering: str | None) -> set[Right]:
    rights = (
        expand(scope, "wattcast.dev", "trainingjobs", "get list watch patch")
        | expand(scope, "wattcast.dev", "trainingjobs/status", "patch")
        # OpenShift: blockOwnerDeletion on the owner references it writes.
        | expand(scope, "wattcast.dev", "trainingjobs/finalizers", "update")
        | expand(scope, "batch", "jobs", "create get list watch patch")
        | expand(scope, "", "serviceaccounts", "create get")
        | expand(scope, "rbac.authorization.k8s.io", "roles", "create get")
        | expand(scope, "rbac.authorization.k8s.io", "rolebindings", "create get")
        | expand(scope, "", "pods", "list watch")
        | expand(scope, "", "events", "create")
        | expand(scope, "kueue.x-k8s.io", "workloads", "get list watch")
        # FleetTrainingJobs: watched, Kopf's finalizer (its sync timer), status; their ConfigMap
        # and their progress Lease (granted to the shards, so held by the operator).
        | expand(scope, "wattcast.dev", "fleettrainingjobs", "get list watch patch")
        | expand(scope, "wattcast.dev", "fleettrainingjobs/status", "patch")
        | expand(scope, "wattcast.dev", "fleettrainingjobs/finalizers", "update")
        | expand(scope, "", "configmaps", "create get")
        | expand(scope, "coordination.k8s.io", "leases", "create get patch")
    )
    if retention:
        rights |= expand(scope, "wattcast.dev", "trainingjobs", "delete")
    if peering:
        rights |= expand(scope, "kopf.dev", peering, "get list watch patch")
    return rights


def api_rights(namespace: str) -> set[Right]:
    # No status subresource: the API never reads or writes it (grep api/src for "status(").
    verbs = "create get list watch patch delete"
    return expand(namespace, "wattcast.dev", "trainingjobs", verbs) | expand(
        namespace, "wattcast.dev", "fleettrainingjobs", verbs
    )


EXPECTED_RIGHTS: dict[str, dict[str, set[Right]]] = {
    "defaults": {
        f"{NAMESPACE}/wattcast-operator": operator_rights(NAMESPACE, retention=False, peering=None),
        f"{NAMESPACE}/wattcast-api": api_rights(NAMESPACE),
    },
    "ingress-monitoring-networkpolicy-values": {
        f"{NAMESPACE}/wattcast-operator": operator_rights(NAMESPACE, retention=False, peering=None),
        f"{NAMESPACE}/wattcast-api": api_rights(NAMESPACE),
    },
    "existing-secrets-and-claim-values": {
        f"{NAMESPACE}/wattcast-operator": operator_rights("energy", retention=True, peering=None)
        | operator_rights("water", retention=True, peering=None),
        f"{NAMESPACE}/wattcast-api": api_rights("energy") | api_rights("water"),
    },
    "kueue-custom-images-values": {
        f"{NAMESPACE}/a-very-long-release-name-that-goes-on-and-on-and-on-be-operator": (
            operator_rights(CLUSTER, retention=False, peering="clusterkopfpeerings")
        ),
        f"{NAMESPACE}/a-very-long-release-name-that-goes-on-and-on-and-on-beyond-api": api_rights(
            NAMESPACE
        ),
    },
}


def test_every_value_set_has_expected_rights() -> None:
    assert set(EXPECTED_RIGHTS) == set(VALUE_SETS)


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def test_each_service_account_has_exactly_its_rights(value_set: str) -> None:
    objects = rendered(value_set)
    assert rights_of_service_accounts(objects) == EXPECTED_RIGHTS[value_set]
    accounts = {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}"
        for o in objects
        if o["kind"] == "ServiceAccount"
    }
    assert accounts == set(EXPECTED_RIGHTS[value_set])


def identity_rights(namespace: str) -> set[Right]:
    """What the operator's per-TrainingJob Role grants (rendering.trainer_rules), as rights."""
    from wattcast.crd.trainingjob import TrainingJob
    from wattcast.operator.rendering import trainer_rules

    tj = TrainingJob.model_validate(
        {
            "metadata": {"name": "any", "namespace": namespace, "uid": "u"},
            "spec": {
                "meterId": "m",
                "meterType": "water",
                "start": "2024-01-01T00:00:00Z",
                "end": "2024-02-01T00:00:00Z",
            },
        }
    )
    rights: set[Right] = set()
    for rule in trainer_rules(tj):
        assert rule["resourceNames"] == ["any"], rule  # never more than its own TrainingJob
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                rights |= expand(namespace, group, resource, " ".join(rule["verbs"]))
    return rights


def test_trainer_identities_grant_only_get_and_status_patch() -> None:
    assert identity_rights("ns") == expand("ns", "wattcast.dev", "trainingjobs", "get") | expand(
        "ns", "wattcast.dev", "trainingjobs/status", "patch"
    )


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def test_operator_holds_every_right_it_grants_trainers(value_set: str) -> None:
    """RBAC refuses a Role (and its binding) granting what its creator lacks; the operator needs
    no bind or escalate because it holds the trainer's rights itself, in each namespace."""
    objects = rendered(value_set)
    (operator,) = [
        rights
        for account, rights in rights_of_service_accounts(objects).items()
        if account.endswith("-operator")
    ]
    assert not [r for r in operator if r[3] in ("bind", "escalate", "impersonate")]
    scopes = {scope for scope, *_ in operator}
    for scope in scopes:
        namespace = "any-namespace" if scope == CLUSTER else scope
        needed = {(scope, *right[1:]) for right in identity_rights(namespace)}
        assert needed <= operator, needed - operator
        for group, resource in (
            ("", "serviceaccounts"),
            ("rbac.authorization.k8s.io", "roles"),
            ("rbac.authorization.k8s.io", "rolebindings"),
        ):
            assert expand(scope, group, resource, "create get") <= operator


def test_no_service_account_can_read_secrets() -> None:
    for value_set in VALUE_SETS:
        for rights in rights_of_service_accounts(rendered(value_set)).values():
            assert not [r for r in rights if r[2] == "secrets"]


def test_operator_gets_delete_on_trainingjobs_only_with_retention() -> None:
    def can_delete(value_set: str) -> bool:
        return any(
            r[2] == "trainingjobs" and r[3] == "delete"
            for account, rights in rights_of_service_accounts(rendered(value_set)).items()
            if account.endswith("-operator")
            for r in rights
        )

    assert not can_delete("defaults")
    assert can_delete("existing-secrets-and-claim-values")


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def test_every_rendered_rbac_rule_has_a_comment(value_set: str) -> None:
    lines = rendered_text(value_set).splitlines()
    rule_lines = [n for n, line in enumerate(lines) if re.match(r"^\s*- apiGroups:", line)]
    assert len(rule_lines) >= 8
    for n in rule_lines:
        assert lines[n - 1].strip().startswith("#"), f"a rule without a comment: {lines[n : n + 3]}"


def pod_templates(objects: tuple[dict[str, Any], ...]) -> list[tuple[str, dict[str, Any]]]:
    pods = []
    for obj in objects:
        spec = obj.get("spec", {})
        if "template" in spec and "spec" in spec["template"]:
            pods.append((f"{obj['kind']}/{obj['metadata']['name']}", spec["template"]["spec"]))
        if obj["kind"] == "Pod":
            pods.append((f"Pod/{obj['metadata']['name']}", spec))
    return pods


def assert_restricted(name: str, pod: dict[str, Any]) -> None:
    """The restricted Pod Security Standard, and a read-only root with an emptyDir /tmp."""
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True, name
    assert security.get("runAsUser", 65532) > 0, name
    assert security["seccompProfile"]["type"] == "RuntimeDefault", name
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(key), name
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert not [v for v in volumes.values() if "hostPath" in v], name
    for container in pod["containers"] + pod.get("initContainers", []):
        where = f"{name}/{container['name']}"
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, where
        assert context["capabilities"]["drop"] == ["ALL"], where
        assert not context["capabilities"].get("add"), where
        assert context["readOnlyRootFilesystem"] is True, where
        assert not context.get("privileged"), where
        assert context.get("runAsUser", security.get("runAsUser", 65532)) != 0, where
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert tmp and "emptyDir" in volumes[tmp[0]["name"]], where


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def test_every_pod_is_restricted(value_set: str) -> None:
    pods = pod_templates(rendered(value_set))
    # The operator and the API; the other Pod is the `helm test` hook, restricted too.
    workloads = [(name, pod) for name, pod in pods if not name.startswith("Pod/")]
    assert len(workloads) == 2
    hooks = [name for name, _ in pods if name.startswith("Pod/")]
    assert len(hooks) == 1 and hooks[0].endswith("-test-api"), hooks
    for name, pod in pods:
        assert_restricted(name, pod)
    for name, pod in workloads:
        # A numeric user the kubelet can check against runAsNonRoot.
        assert isinstance(pod["securityContext"]["runAsUser"], int), name
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"], where
            assert resources["limits"]["memory"], where
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", where
            assert container["readinessProbe"]["httpGet"]["path"], where


def test_trainer_pods_the_operator_renders_fit_what_the_chart_provides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The operator, configured by the chart, renders trainer pods that are restricted, run as
    the chart's trainer ServiceAccount in their namespace, mount the chart's claim and read the
    configured Secret."""
    from wattcast.crd.trainingjob import TrainingJob
    from wattcast.operator.rendering import render_job, render_trainer_identity
    from wattcast.operator.settings import OperatorSettings
    from wattcast.operator.sources import configured_sources

    objects = rendered("existing-secrets-and-claim-values")
    (config,) = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-operator")
    ]
    for key in [k for k in os.environ if k.startswith("WATTCAST_")]:
        monkeypatch.delenv(key)
    for key, value in config["data"].items():
        if key != "WATTCAST_INFLUX_SOURCES_FILE":  # the named sources are not needed here
            monkeypatch.setenv(key, value)
    settings = OperatorSettings()
    example = yaml.safe_load((ROOT / "examples" / "meter1-electricity.yaml").read_text())
    trainingjob = TrainingJob.model_validate(
        {
            "metadata": {"name": "chart-fit", "namespace": "energy", "uid": "0a1b2c3d"},
            "spec": example["spec"],
        }
    )
    job = render_job(trainingjob, configured_sources(settings)["default"], settings)
    job["metadata"].setdefault("namespace", "energy")
    kubernetes_validate.validate(job, "1.33", strict=True)
    pod = job["spec"]["template"]["spec"]
    assert_restricted("trainer", pod)

    # It runs as the TrainingJob's own identity, which the operator makes beside the Job.
    (account,) = [o for o in render_trainer_identity(trainingjob) if o["kind"] == "ServiceAccount"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert account["metadata"]["namespace"] == "energy"
    assert not [
        o
        for o in objects
        if o["kind"] == "ServiceAccount" and o["metadata"]["namespace"] == "energy"
    ]
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert claims == ["shared-models"]
    token_refs = [
        e["valueFrom"]["secretKeyRef"] for e in pod["containers"][0]["env"] if "valueFrom" in e
    ]
    assert token_refs == [{"name": "influx-token", "key": "token"}]
    # Trainer pods carry the label the chart's NetworkPolicy selects them by.
    assert "wattcast.dev/trainingjob" in job["spec"]["template"]["metadata"]["labels"]


def test_api_mounts_models_read_only_and_tokens_from_the_existing_secret() -> None:
    objects = rendered("existing-secrets-and-claim-values")
    (api,) = [
        o
        for o in pod_templates(objects)
        if o[0].startswith("Deployment/") and o[0].endswith("-api")
    ]
    pod = api[1]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["models"]["persistentVolumeClaim"] == {
        "claimName": "shared-models",
        "readOnly": True,
    }
    assert volumes["api-tokens"]["secret"]["secretName"] == "api-tokens"
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["models"]["readOnly"] is True
    assert mounts["api-tokens"]["readOnly"] is True
    assert pod["containers"][0]["command"][:1] == ["wattcast-api"]


def test_standalone_operator_is_recreated_not_rolled() -> None:
    (operator,) = [
        o
        for o in rendered("defaults")
        if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-operator")
    ]
    assert operator["spec"]["replicas"] == 1
    assert operator["spec"]["strategy"]["type"] == "Recreate"
    assert operator["spec"]["template"]["spec"]["containers"][0]["command"] == ["wattcast-operator"]
