"""What the chart hands the operator for trainer pods: default requests and limits
(WATTCAST_TRAINER_RESOURCES) and, for a ReadWriteOnce model store, one node for every pod that
mounts it (WATTCAST_MODELS_SINGLE_NODE)."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest
from pydantic import ValidationError

from wattcast.crd import InfluxSource, TrainingJob, constants
from wattcast.operator.rendering import render_job
from wattcast.operator.settings import OperatorSettings

SOURCE = InfluxSource.model_validate(
    {"name": "default", "url": "http://influx:8086", "dialect": "flux", "org": "o", "bucket": "b"}
)
DEFAULTS = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1536Mi"}}


def make_tj(**spec: Any) -> TrainingJob:
    return TrainingJob.model_validate(
        {
            "apiVersion": constants.API_VERSION,
            "kind": constants.KIND,
            "metadata": {"name": "tj-defaults", "namespace": "ns-a", "uid": "u-1"},
            "spec": {
                "meterId": "meter1",
                "meterType": "electricity",
                "start": "2023-01-01T00:00:00Z",
                "end": "2023-06-01T00:00:00Z",
                **spec,
            },
        }
    )


def from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> OperatorSettings:
    for name, value in env.items():
        monkeypatch.setenv(f"WATTCAST_{name.upper()}", value)
    return OperatorSettings()


def trainer(job: dict[str, Any]) -> dict[str, Any]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_a_trainingjob_without_resources_gets_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = from_env(monkeypatch, trainer_resources=json.dumps(DEFAULTS))
    job = render_job(make_tj(), SOURCE, settings)
    assert trainer(job)["resources"] == DEFAULTS
    kubernetes_validate.validate(job, "1.32", strict=True)


def test_the_trainingjobs_own_resources_replace_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = from_env(monkeypatch, trainer_resources=json.dumps(DEFAULTS))
    own = {"limits": {"memory": "4Gi"}}
    assert trainer(render_job(make_tj(resources=own), SOURCE, settings))["resources"] == own


def test_without_a_default_the_container_has_no_resources() -> None:
    assert "resources" not in trainer(render_job(make_tj(), SOURCE, OperatorSettings()))


@pytest.mark.parametrize(
    "value",
    ['{"requests": {"memory": "lots"}}', '{"requests": {"gpu": "1"}}', "1Gi", "{"],
)
def test_a_bad_default_stops_the_operator_at_start(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("WATTCAST_TRAINER_RESOURCES", value)
    with pytest.raises((ValidationError, ValueError)):
        OperatorSettings()


def test_single_node_trainers_follow_the_other_pods_of_the_claim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = from_env(monkeypatch, models_single_node="true", models_claim="wattcast-models")
    job = render_job(make_tj(), SOURCE, settings)
    template = job["spec"]["template"]
    assert template["metadata"]["labels"][constants.LABEL_MODELS_CLAIM] == "wattcast-models"
    # The Job itself keeps its labels: only the pods are matched.
    assert constants.LABEL_MODELS_CLAIM not in job["metadata"]["labels"]
    (term,) = template["spec"]["affinity"]["podAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert term == {
        "labelSelector": {"matchLabels": {constants.LABEL_MODELS_CLAIM: "wattcast-models"}},
        "topologyKey": "kubernetes.io/hostname",
    }
    # The pod matches its own term, so the first pod of the claim can go to any node.
    selector = term["labelSelector"]["matchLabels"]
    assert selector.items() <= template["metadata"]["labels"].items()
    kubernetes_validate.validate(job, "1.32", strict=True)


def test_shared_claims_leave_scheduling_alone() -> None:
    template = render_job(make_tj(), SOURCE, OperatorSettings())["spec"]["template"]
    assert "affinity" not in template["spec"]
    assert constants.LABEL_MODELS_CLAIM not in template["metadata"]["labels"]


def test_single_node_needs_a_claim_name_that_fits_a_label() -> None:
    with pytest.raises(ValidationError, match="at most 63"):
        OperatorSettings(models_single_node=True, models_claim="m" * 64)
    assert OperatorSettings(models_claim="m" * 64).models_claim  # fine when shared
