"""The API server filters what the operator watches: every list and watch of Jobs and pods
carries the operator's label selector, and every Job it renders (and every pod of one) matches
it. (That Kopf really sends the selector is tested on the real control plane:
tests/integration/operator/test_operator_watch_is_filtered_by_the_server.py.)"""

from __future__ import annotations

import kopf
import pytest
from kopf._cogs.structs.references import Resource

from wattcast.crd import InfluxSource, TrainingJob, constants
from wattcast.operator import kopf_settings
from wattcast.operator.rendering import render_job
from wattcast.operator.settings import OperatorSettings

SOURCE = InfluxSource(url="http://influx.example:8086", bucket="meters")


def applied() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    kopf_settings.apply(settings, OperatorSettings())
    return settings


def matches(selector: str, labels: dict[str, str]) -> bool:
    """Equality-based selectors only (`key=value,...`), which is all the operator uses."""
    pairs = [term.split("=", 1) for term in selector.split(",")]
    return all(len(pair) == 2 and labels.get(pair[0]) == pair[1] for pair in pairs)


@pytest.mark.parametrize(
    ("group", "version", "plural"), [("batch", "v1", "jobs"), ("", "v1", "pods")]
)
def test_jobs_and_pods_are_listed_and_watched_with_the_operators_selector(
    group: str, version: str, plural: str
) -> None:
    selectors = applied().watching.label_selectors.collect(Resource(group, version, plural))
    assert selectors == [kopf_settings.OWN_OBJECTS_SELECTOR]
    assert kopf_settings.OWN_OBJECTS_SELECTOR == "app.kubernetes.io/managed-by=wattcast-operator"


def test_trainingjobs_are_not_narrowed() -> None:
    # Every TrainingJob in scope is the operator's: a selector would hide one made without it.
    tj = Resource(constants.GROUP, constants.VERSION, constants.PLURAL)
    assert applied().watching.label_selectors.collect(tj) == []


def test_initial_lists_are_not_paged() -> None:
    # A page's continue token expires while Kopf indexes the pages before it (5 minutes).
    assert applied().watching.chunk_size is None


@pytest.mark.parametrize("queued", [False, True])
def test_every_rendered_job_and_its_pods_match_the_selector(queued: bool) -> None:
    spec = {
        "meterId": "site:7",  # not a label value: the meter-id label is left off
        "meterType": "electricity",
        "start": "2023-01-01T00:00:00Z",
        "end": "2023-06-01T00:00:00Z",
        **({"queueName": "team-a"} if queued else {}),
    }
    tj = TrainingJob.model_validate(
        {
            "apiVersion": constants.API_VERSION,
            "kind": constants.KIND,
            "metadata": {"name": "tj-a", "namespace": "ns-a", "uid": "uid-1"},
            "spec": spec,
        }
    )
    settings = OperatorSettings(models_single_node=True)
    job = render_job(tj, SOURCE, settings)
    selector = kopf_settings.OWN_OBJECTS_SELECTOR
    assert matches(selector, job["metadata"]["labels"])
    assert matches(selector, job["spec"]["template"]["metadata"]["labels"])


def test_an_unrelated_job_does_not_match() -> None:
    labels = {"app.kubernetes.io/managed-by": "Helm", constants.LABEL_TRAININGJOB: "x"}
    assert not matches(kopf_settings.OWN_OBJECTS_SELECTOR, labels)
