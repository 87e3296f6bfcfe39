"""The objects a FleetTrainingJob owns: the ConfigMap its shards read the fleet from, the
Lease they report their live progress on and the identity that may write only that Lease, and
its one Indexed Job (docs/operator.md, fleets). Pure: every field is unit-tested.

The ConfigMap `<name>-fleet` holds `fleet.json` (name, namespace, uid and the validated spec):
the shard pods mount it, so every attempt of every index reads the same, immutable fleet. The
shard pods run as `wattcast-shard-<name>`, whose Role allows get and patch of the Lease
`<name>-progress` and nothing else. The Job has the fleet's name,
`completionMode: Indexed`, one completion per shard, `backoffLimitPerIndex` retries per shard,
and a podFailurePolicy: the shard runner's permanent exit code fails that index at once,
disruptions (eviction, preemption) cost no retry.
"""

from __future__ import annotations

import json
from typing import Any, Final

from wattcast.crd import InfluxSource, constants
from wattcast.crd.fleettrainingjob import FleetTrainingJobSpec, progress_lease_name
from wattcast.operator.rendering import (
    MANAGED_BY,
    pod_failure_policy,
    render_identity,
    source_env,
    trainer_pod_template,
)
from wattcast.operator.settings import OperatorSettings

SHARD_COMPONENT: Final = "fleet-shard"
FLEET_VOLUME: Final = "fleet"
FLEET_MOUNT_PATH: Final = "/etc/wattcast/fleet"
FLEET_FILE: Final = "fleet.json"
ENV_FLEET_FILE: Final = "WATTCAST_FLEET_FILE"
SHARD_IDENTITY_PREFIX: Final = "wattcast-shard-"


def configmap_name(name: str) -> str:
    return f"{name}-fleet"


def fleet_labels(name: str, meter_type: str) -> dict[str, str]:
    """Labels of the fleet's Job, pods and ConfigMap (never the TrainingJob label: the
    TrainingJob handlers ignore them)."""
    return {
        constants.LABEL_APP_NAME: constants.APP_NAME,
        constants.LABEL_APP_INSTANCE: name,
        constants.LABEL_APP_COMPONENT: SHARD_COMPONENT,
        constants.LABEL_APP_PART_OF: constants.APP_NAME,
        constants.LABEL_APP_MANAGED_BY: MANAGED_BY,
        constants.LABEL_FLEETTRAININGJOB: name,
        constants.LABEL_METER_TYPE: meter_type,
    }


def owner_reference(name: str, uid: str) -> dict[str, Any]:
    """The controller ownerReference: deleting the fleet deletes its Job, pods, ConfigMap."""
    return {
        "apiVersion": constants.API_VERSION,
        "kind": constants.FLEET_KIND,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def fleet_document(name: str, namespace: str, uid: str, spec: FleetTrainingJobSpec) -> str:
    """What `fleet.json` says: the shard runner's whole input (wattcast.trainer.fleet)."""
    return json.dumps(
        {"name": name, "namespace": namespace, "uid": uid, "spec": spec.to_json_dict()},
        sort_keys=True,
        separators=(",", ":"),
    )


def render_configmap(
    name: str, namespace: str, uid: str, spec: FleetTrainingJobSpec
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(name),
            "namespace": namespace,
            "labels": fleet_labels(name, spec.meter_type.value),
            "ownerReferences": [owner_reference(name, uid)],
        },
        "immutable": True,
        "data": {FLEET_FILE: fleet_document(name, namespace, uid, spec)},
    }


def shard_identity_name(name: str) -> str:
    """The ServiceAccount, Role and RoleBinding the fleet's shard pods run as."""
    return SHARD_IDENTITY_PREFIX + name


def render_progress(name: str, namespace: str, uid: str, meter_type: str) -> list[dict[str, Any]]:
    """The progress Lease, then the shards' identity (in creation order): the Role names only
    that Lease, so a shard can write nothing but its fleet's progress."""
    labels = fleet_labels(name, meter_type)
    owner = owner_reference(name, uid)
    lease = progress_lease_name(name)
    rules = [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [lease],
            "verbs": ["get", "patch"],
        }
    ]
    return [
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": lease,
                "namespace": namespace,
                "labels": labels,
                "ownerReferences": [owner],
            },
            "spec": {},
        },
        *render_identity(
            shard_identity_name(name), namespace, labels=labels, owner=owner, rules=rules
        ),
    ]


def render_job(
    name: str,
    namespace: str,
    uid: str,
    spec: FleetTrainingJobSpec,
    shards: int,
    source: InfluxSource,
    settings: OperatorSettings,
) -> dict[str, Any]:
    """The fleet's Indexed Job (same name, owned by it), as a JSON-ready dict."""
    env: list[dict[str, Any]] = [
        {"name": constants.ENV_FLEET_NAME, "value": name},
        {"name": constants.ENV_FLEET_NAMESPACE, "value": namespace},
        {"name": constants.ENV_FLEET_UID, "value": uid},
        {"name": constants.ENV_FLEET_SHARDS, "value": str(shards)},
        {"name": constants.ENV_FLEET_PROGRESS_LEASE, "value": progress_lease_name(name)},
        {"name": ENV_FLEET_FILE, "value": f"{FLEET_MOUNT_PATH}/{FLEET_FILE}"},
        {"name": constants.ENV_MODELS_DIR, "value": constants.MODELS_MOUNT_PATH},
        *source_env(source),
    ]
    fleet_volume = (
        {"name": FLEET_VOLUME, "configMap": {"name": configmap_name(name)}},
        {"name": FLEET_VOLUME, "mountPath": FLEET_MOUNT_PATH, "readOnly": True},
    )
    labels = fleet_labels(name, spec.meter_type.value)
    # Results go to the termination log and the model store; the token may only write the
    # fleet's progress Lease (render_progress).
    template = trainer_pod_template(
        settings,
        labels=labels,
        command=[constants.FLEET_SHARD_COMMAND],
        env=env,
        resources=spec.resources,
        service_account=shard_identity_name(name),
        volumes=[fleet_volume],
    )
    job_spec: dict[str, Any] = {
        "completionMode": "Indexed",
        "completions": shards,
        "parallelism": min(spec.effective_parallelism, shards),
        "backoffLimitPerIndex": spec.effective_backoff_limit_per_index,
        # Exit 2 (the fleet itself is unusable) fails the index at once; disruptions are free.
        "podFailurePolicy": pod_failure_policy(on_permanent="FailIndex"),
        # A shard's replacement starts only once the failed pod is gone: never two at once.
        "podReplacementPolicy": "Failed",
        "suspend": spec.suspend,
        "template": template,
    }
    if spec.active_deadline_seconds is not None:
        job_spec["activeDeadlineSeconds"] = spec.active_deadline_seconds
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [owner_reference(name, uid)],
        },
        "spec": job_spec,
    }


def discovery_job_name(name: str) -> str:
    """The discovery Job of a fleet with meters.discover (a DNS label, like every Job name)."""
    return f"{name[:54]}-discover"


def render_discovery_job(
    name: str,
    namespace: str,
    uid: str,
    spec: FleetTrainingJobSpec,
    source: InfluxSource,
    settings: OperatorSettings,
) -> dict[str, Any]:
    """One pod, `wattcast-fleet-shard --discover`: writes the fixed meter list to the model
    store and its size to its termination log. Retried like a TrainingJob's trainer."""
    body = render_job(name, namespace, uid, spec, 1, source, settings)
    body["metadata"]["name"] = discovery_job_name(name)
    job_spec = body["spec"]
    for key in ("completionMode", "completions", "parallelism", "backoffLimitPerIndex"):
        job_spec.pop(key, None)
    job_spec["backoffLimit"] = spec.effective_backoff_limit_per_index
    job_spec["suspend"] = False
    job_spec["podFailurePolicy"]["rules"][0]["action"] = "FailJob"
    pod_spec = job_spec["template"]["spec"]
    # Discovery reports only through its termination log: no identity, no token.
    del pod_spec["serviceAccountName"]
    pod_spec["automountServiceAccountToken"] = False
    container = pod_spec["containers"][0]
    container["command"] = [constants.FLEET_SHARD_COMMAND, "--discover"]
    container["env"] = [
        e for e in container["env"] if e["name"] != constants.ENV_FLEET_PROGRESS_LEASE
    ]
    return body
