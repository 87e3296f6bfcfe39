"""The default install binds where the default StorageClass is ReadWriteOnce only, and trainer
pods get requests and limits: what the chart renders and what the operator, configured by it,
renders for trainers (issue 13, item 2)."""

from __future__ import annotations

from typing import Any

import pytest
from chart_render import one, render, render_text

from wattcast.crd import InfluxSource, TrainingJob, constants
from wattcast.operator.rendering import render_job
from wattcast.operator.settings import OperatorSettings

TERM = {
    "labelSelector": {"matchLabels": {constants.LABEL_MODELS_CLAIM: "wattcast-models"}},
    "topologyKey": "kubernetes.io/hostname",
}
FORECASTS = {"enabled": True, "tokenSecret": {"name": "w"}}
INFLUX = {"default": {"url": "http://influx:8086", "org": "o", "bucket": "b"}}


def pod_of(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    spec = one(objects, kind, name)["spec"]
    if kind == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"])


def required_terms(pod: dict[str, Any]) -> list[dict[str, Any]]:
    affinity = pod["spec"].get("affinity") or {}
    return list(
        (affinity.get("podAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
        or []
    )


def operator_settings(objects: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in one(objects, "ConfigMap", "wattcast-operator")["data"].items():
        monkeypatch.setenv(name, value)
    return OperatorSettings()


def trainer_pod(settings: OperatorSettings, **spec: Any) -> dict[str, Any]:
    tj = TrainingJob.model_validate(
        {
            "apiVersion": constants.API_VERSION,
            "kind": constants.KIND,
            "metadata": {"name": "tj", "namespace": "wattcast-system", "uid": "u"},
            "spec": {
                "meterId": "m",
                "meterType": "electricity",
                "start": "2023-01-01T00:00:00Z",
                "end": "2023-06-01T00:00:00Z",
                **spec,
            },
        }
    )
    source = InfluxSource.model_validate({"name": "default", **INFLUX["default"]})
    return dict(render_job(tj, source, settings)["spec"]["template"])


def test_the_default_claim_is_read_write_once() -> None:
    claim = one(render(), "PersistentVolumeClaim", "wattcast-models")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_every_pod_of_a_read_write_once_store_shares_its_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    objects = render({"forecasts": FORECASTS, "influx": INFLUX})
    for kind, name in (("Deployment", "wattcast-api"), ("CronJob", "wattcast-forecasts")):
        pod = pod_of(objects, kind, name)
        assert pod["metadata"]["labels"][constants.LABEL_MODELS_CLAIM] == "wattcast-models"
        assert required_terms(pod) == [TERM], name
    # The operator has nothing to share: it mounts no model store.
    operator = pod_of(objects, "Deployment", "wattcast-operator")
    assert constants.LABEL_MODELS_CLAIM not in operator["metadata"]["labels"]
    assert "affinity" not in operator["spec"]
    trainer = trainer_pod(operator_settings(objects, monkeypatch))
    assert trainer["metadata"]["labels"][constants.LABEL_MODELS_CLAIM] == "wattcast-models"
    assert required_terms(trainer) == [TERM]


def test_an_existing_claim_is_matched_by_its_own_name(monkeypatch: pytest.MonkeyPatch) -> None:
    objects = render({"models": {"existingClaim": "shared"}})
    api = pod_of(objects, "Deployment", "wattcast-api")
    assert api["metadata"]["labels"][constants.LABEL_MODELS_CLAIM] == "shared"
    trainer = trainer_pod(operator_settings(objects, monkeypatch))
    assert trainer["metadata"]["labels"][constants.LABEL_MODELS_CLAIM] == "shared"


def test_the_users_affinity_is_kept_and_extended() -> None:
    own_term = {"labelSelector": {"matchLabels": {"cache": "warm"}}, "topologyKey": "zone"}
    affinity = {
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [own_term]},
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Exists"}]}]
            }
        },
    }
    api = pod_of(render({"api": {"affinity": affinity}}), "Deployment", "wattcast-api")
    assert required_terms(api) == [own_term, TERM]
    assert api["spec"]["affinity"]["nodeAffinity"] == affinity["nodeAffinity"]


def test_read_write_many_leaves_scheduling_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    objects = render(
        {"models": {"accessMode": "ReadWriteMany"}, "forecasts": FORECASTS, "influx": INFLUX}
    )
    claim = one(objects, "PersistentVolumeClaim", "wattcast-models")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for kind, name in (("Deployment", "wattcast-api"), ("CronJob", "wattcast-forecasts")):
        pod = pod_of(objects, kind, name)
        assert constants.LABEL_MODELS_CLAIM not in pod["metadata"]["labels"]
        assert "affinity" not in pod["spec"]
    trainer = trainer_pod(operator_settings(objects, monkeypatch))
    assert "affinity" not in trainer["spec"]


def test_an_api_without_the_model_store_is_not_tied_to_its_node() -> None:
    api = pod_of(render({"api": {"mountModels": False}}), "Deployment", "wattcast-api")
    assert constants.LABEL_MODELS_CLAIM not in api["metadata"]["labels"]
    assert "affinity" not in api["spec"]


def test_read_write_once_pod_is_refused() -> None:
    done = render_text({"models": {"accessMode": "ReadWriteOncePod"}})
    assert done.returncode != 0
    assert "accessMode" in done.stderr


def test_trainers_get_the_default_requests_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    objects = render()
    settings = operator_settings(objects, monkeypatch)
    (container,) = trainer_pod(settings)["spec"]["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "1Gi"},
        "limits": {"memory": "2Gi"},
    }
    own = {"requests": {"memory": "3Gi"}, "limits": {"memory": "4Gi"}}
    (container,) = trainer_pod(settings, resources=own)["spec"]["containers"]
    assert container["resources"] == own


def test_trainer_resources_are_configurable_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    objects = render({"trainer": {"resources": {"limits": {"memory": "6Gi", "cpu": "4"}}}})
    (container,) = trainer_pod(operator_settings(objects, monkeypatch))["spec"]["containers"]
    # Helm merges maps: the default requests stay unless set to null.
    assert container["resources"]["limits"] == {"cpu": "4", "memory": "6Gi"}
    # Only what a TrainingJob's spec.resources accepts (cpu and memory).
    refused = render_text({"trainer": {"resources": {"limits": {"nvidia.com/gpu": "1"}}}})
    assert refused.returncode != 0 and "nvidia.com/gpu" in refused.stderr
