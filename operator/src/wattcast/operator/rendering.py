"""The Job that runs a TrainingJob's trainer (docs/design.md §3, §3.1), and the trainer's identity.

`render_job` builds the whole batch/v1 Job as a JSON-ready dict from the TrainingJob, the
resolved InfluxDB source and the settings; `render_trainer_identity` builds the ServiceAccount,
Role and RoleBinding that pod runs as. Both do no I/O, so every field is unit-tested.

Each TrainingJob gets an identity of its own, owned by it (garbage-collected with it): a Role
whose rules name only that TrainingJob (`resourceNames`), so a trainer can read its own
TrainingJob and patch its own status, and no other TrainingJob's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wattcast.crd import InfluxSource, TrainingJob, constants
from wattcast.crd.labels import trainingjob_labels
from wattcast.crd.spec import ResourceRequirements
from wattcast.operator.settings import OperatorSettings

MANAGED_BY = "wattcast-operator"
TRAINER_COMPONENT = "trainer"
TMP_VOLUME = "tmp"
# "<prefix><TrainingJob name>": at most 17 + 63 characters, within a ServiceAccount's 253.
TRAINER_IDENTITY_PREFIX = "wattcast-trainer-"
MODELS_VOLUME = "models"


def missing_labels(tj: TrainingJob) -> dict[str, str]:
    """The contract's TrainingJob labels it lacks (existing values are never overwritten)."""
    present = tj.metadata.labels or {}
    return {k: v for k, v in trainingjob_labels(tj.spec).items() if k not in present}


def job_labels(tj: TrainingJob) -> dict[str, str]:
    """Labels of the Job and its pods (Kueue's are added on the Job only)."""
    name = _name(tj)
    return {
        constants.LABEL_APP_NAME: constants.APP_NAME,
        constants.LABEL_APP_INSTANCE: name,
        constants.LABEL_APP_COMPONENT: TRAINER_COMPONENT,
        constants.LABEL_APP_PART_OF: constants.APP_NAME,
        constants.LABEL_APP_MANAGED_BY: MANAGED_BY,
        constants.LABEL_TRAININGJOB: name,
        **trainingjob_labels(tj.spec),
    }


def owner_reference(tj: TrainingJob) -> dict[str, Any]:
    """The controller ownerReference: deleting the TrainingJob deletes the Job and its pods."""
    if not tj.metadata.uid:
        raise ValueError("the TrainingJob has no uid; only objects read from the API can own")
    return {
        "apiVersion": constants.API_VERSION,
        "kind": constants.KIND,
        "name": _name(tj),
        "uid": tj.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def source_env(source: InfluxSource) -> list[dict[str, Any]]:
    """The INFLUX_* variables of the resolved source (a TrainingJob's trainer, a fleet's
    shards)."""
    env: list[dict[str, Any]] = [
        {"name": constants.ENV_INFLUX_URL, "value": source.url},
        {"name": constants.ENV_INFLUX_DIALECT, "value": source.dialect.value},
    ]
    for var, value in (
        (constants.ENV_INFLUX_ORG, source.org),
        (constants.ENV_INFLUX_BUCKET, source.bucket),
        (constants.ENV_INFLUX_DATABASE, source.database),
    ):
        if value is not None:
            env.append({"name": var, "value": value})
    if source.token_secret is not None:
        # secretKeyRef is namespace-local: the Secret must exist in the object's namespace.
        ref = {"name": source.token_secret.name, "key": source.token_secret.key}
        env.append({"name": constants.ENV_INFLUX_TOKEN, "valueFrom": {"secretKeyRef": ref}})
    return env


def trainer_env(tj: TrainingJob, source: InfluxSource) -> list[dict[str, Any]]:
    """The trainer's environment: which TrainingJob, where models go, and the source."""
    return [
        {"name": constants.ENV_TRAININGJOB_NAME, "value": _name(tj)},
        {"name": constants.ENV_TRAININGJOB_NAMESPACE, "value": tj.metadata.namespace or ""},
        {"name": constants.ENV_MODELS_DIR, "value": constants.MODELS_MOUNT_PATH},
        *source_env(source),
    ]


def pod_failure_policy(on_permanent: str = "FailJob") -> dict[str, Any]:
    """Fail at once on the trainer's permanent-error exit code (the whole Job, or with
    `FailIndex` one index of an Indexed Job); disruptions cost no retry."""
    return {
        "rules": [
            {
                "action": on_permanent,
                "onExitCodes": {
                    "containerName": constants.TRAINER_CONTAINER,
                    "operator": "In",
                    "values": [constants.EXIT_PERMANENT],
                },
            },
            {
                "action": "Ignore",
                "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
            },
        ]
    }


def container_security_context() -> dict[str, Any]:
    """The restricted Pod Security Standard, container level."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# The trainer image's numeric user (Dockerfile.trainer's USER). fsGroup gives that user write
# access to the models claim on storage classes that honour it.
TRAINER_UID = 65532


def pod_security_context() -> dict[str, Any]:
    """The restricted Pod Security Standard, pod level."""
    return {
        "runAsNonRoot": True,
        "runAsUser": TRAINER_UID,
        "runAsGroup": TRAINER_UID,
        "fsGroup": TRAINER_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def trainer_identity_name(tj: TrainingJob) -> str:
    """The name of the TrainingJob's ServiceAccount, Role and RoleBinding."""
    return TRAINER_IDENTITY_PREFIX + _name(tj)


def trainer_rules(tj: TrainingJob) -> list[dict[str, Any]]:
    """What the trainer calls, on its own TrainingJob only (trainer/jobs.py, progress.py)."""
    return [
        # Read its TrainingJob once at start (spec, and whether it was suspended meanwhile).
        {
            "apiGroups": [constants.GROUP],
            "resources": [constants.PLURAL],
            "resourceNames": [_name(tj)],
            "verbs": ["get"],
        },
        # Merge-patch phase, progress, message and result (the schema re-validates each).
        {
            "apiGroups": [constants.GROUP],
            "resources": [f"{constants.PLURAL}/status"],
            "resourceNames": [_name(tj)],
            "verbs": ["patch"],
        },
    ]


def render_trainer_identity(tj: TrainingJob) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding of the TrainingJob's trainer, in creation order."""
    return render_identity(
        trainer_identity_name(tj),
        tj.metadata.namespace or "",
        labels=job_labels(tj),
        owner=owner_reference(tj),
        rules=trainer_rules(tj),
    )


def render_identity(
    name: str,
    namespace: str,
    *,
    labels: dict[str, str],
    owner: dict[str, Any],
    rules: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """A pod identity of our own: ServiceAccount, Role with `rules` and RoleBinding, all named
    `name` and owned by `owner`, in creation order. The ServiceAccount mounts no token by
    itself; only the pods that need one ask for it."""

    def metadata() -> dict[str, Any]:
        return {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [owner],
        }

    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(),
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    ]


# What an existing identity object must say to be adopted: a Role with other rules or a
# RoleBinding to another subject is not the one we would have made, even if we own it.
# A fleet's ConfigMap and Lease only need to be ours (the ConfigMap's fleet.json follows the
# spec's suspend flag, and the Lease's annotations change as shards run).
_IDENTITY_CONTENT = {
    "ServiceAccount": (),
    "ConfigMap": (),
    "Lease": (),
    "Role": ("rules",),
    "RoleBinding": ("roleRef", "subjects"),
}


def identity_matches(existing: dict[str, Any], wanted: dict[str, Any], uid: str) -> bool:
    """Whether `existing` is the identity object `wanted` describes, owned by `uid`."""
    if not is_owned_by(existing, uid):
        return False
    keys = _IDENTITY_CONTENT[str(wanted["kind"])]
    return all(_normalised(existing.get(key)) == _normalised(wanted.get(key)) for key in keys)


def _normalised(value: Any) -> Any:
    """Drop empty lists and None, as the API server does when it stores RBAC objects."""
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


def trainer_pod_template(
    settings: OperatorSettings,
    *,
    labels: dict[str, str],
    command: list[str],
    env: list[dict[str, Any]],
    resources: ResourceRequirements | None,
    service_account: str | None,
    volumes: Sequence[tuple[dict[str, Any], dict[str, Any]]] = (),
) -> dict[str, Any]:
    """The pod template of a trainer container (a TrainingJob's or a fleet shard's): the
    model store and a /tmp emptyDir mounted, plus `volumes` as (volume, mount) pairs; runs as
    `service_account` with its token, or with no token at all when None."""
    container: dict[str, Any] = {
        "name": constants.TRAINER_CONTAINER,
        "image": settings.trainer_image,
        "imagePullPolicy": settings.trainer_image_pull_policy,
        "command": command,
        "env": env,
        "volumeMounts": [
            {"name": MODELS_VOLUME, "mountPath": constants.MODELS_MOUNT_PATH},
            *(mount for _, mount in volumes),
            {"name": TMP_VOLUME, "mountPath": "/tmp"},  # noqa: S108 - the pod's own emptyDir
        ],
        "terminationMessagePath": constants.TERMINATION_LOG_PATH,
        # The trainer writes its result there; fall back to the log tail if it died first.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": container_security_context(),
    }
    resources = resources if resources is not None else settings.trainer_resources
    if resources is not None:
        container["resources"] = resources.to_json_dict()
    pod_spec: dict[str, Any] = {"restartPolicy": "Never"}
    if service_account is not None:
        pod_spec["serviceAccountName"] = service_account
    pod_spec["automountServiceAccountToken"] = service_account is not None
    pod_spec.update(
        {
            # The trainer reads no Service's variables; a namespace's many would only bloat them.
            "enableServiceLinks": False,
            "securityContext": pod_security_context(),
            "containers": [container],
            "volumes": [
                {
                    "name": MODELS_VOLUME,
                    "persistentVolumeClaim": {"claimName": settings.models_claim},
                },
                *(volume for volume, _ in volumes),
                {"name": TMP_VOLUME, "emptyDir": {}},
            ],
        }
    )
    template: dict[str, Any] = {"metadata": {"labels": labels}, "spec": pod_spec}
    if settings.models_single_node:
        _share_the_models_node(template, settings.models_claim)
    pull_secrets = settings.trainer_image_pull_secret_list
    if pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": n} for n in pull_secrets]
    return template


def render_job(tj: TrainingJob, source: InfluxSource, settings: OperatorSettings) -> dict[str, Any]:
    """The batch/v1 Job for `tj` (same name, owned by it), as a JSON-ready dict."""
    spec = tj.spec
    labels = job_labels(tj)
    job_only_labels = dict(labels)
    queued = spec.queue_name is not None
    if spec.queue_name is not None:
        job_only_labels[constants.LABEL_KUEUE_QUEUE] = spec.queue_name
        if spec.priority_class is not None:
            job_only_labels[constants.LABEL_KUEUE_PRIORITY] = spec.priority_class

    job_spec: dict[str, Any] = {
        # A Kueue-managed Job starts suspended; Kueue admits it by unsuspending it.
        "suspend": queued or spec.suspend,
        "backoffLimit": (
            spec.backoff_limit if spec.backoff_limit is not None else settings.default_backoff_limit
        ),
        "podFailurePolicy": pod_failure_policy(),
        # Never two trainer pods at once: a replacement starts only after the old pod is gone.
        "podReplacementPolicy": "Failed",
        # The TrainingJob's own identity (render_trainer_identity), with a token.
        "template": trainer_pod_template(
            settings,
            labels=labels,
            command=[constants.TRAINER_COMMAND],
            env=trainer_env(tj, source),
            resources=spec.resources,
            service_account=trainer_identity_name(tj),
        ),
    }
    if spec.active_deadline_seconds is not None:
        job_spec["activeDeadlineSeconds"] = spec.active_deadline_seconds
    if spec.ttl_seconds_after_finished is not None:
        job_spec["ttlSecondsAfterFinished"] = spec.ttl_seconds_after_finished

    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": _name(tj),
            "namespace": tj.metadata.namespace,
            "labels": job_only_labels,
            "ownerReferences": [owner_reference(tj)],
        },
        "spec": job_spec,
    }


def _share_the_models_node(template: dict[str, Any], claim: str) -> None:
    """A ReadWriteOnce claim attaches to one node: the pod requires affinity (by node) to the
    other pods that mount it (the API's, other trainers'), and carries their label, so the
    first of them may go anywhere and every later one follows it (docs/deploying.md)."""
    template["metadata"]["labels"] = {
        **template["metadata"]["labels"],
        constants.LABEL_MODELS_CLAIM: claim,
    }
    template["spec"]["affinity"] = {
        "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": {constants.LABEL_MODELS_CLAIM: claim}},
                    "topologyKey": "kubernetes.io/hostname",
                }
            ]
        }
    }


def is_owned_by(job: dict[str, Any], uid: str) -> bool:
    """Whether `job`'s controller ownerReference points at the object with `uid`."""
    refs = (job.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("controller") and ref.get("uid") == uid for ref in refs)


def _name(tj: TrainingJob) -> str:
    if not tj.metadata.name:
        raise ValueError("the TrainingJob has no name")
    return tj.metadata.name
