"""FleetTrainingJobs through the TrainingJob machinery: what a client is shown of a fleet
(stage, finished, progress, failures redacted), the actions' state rules, the manifest, the
error mapping's words, the event stream's news and the OpenAPI document."""

from __future__ import annotations

from typing import Any, cast

import pytest
from refused_fleet_specs import VALID_FLEET_SPEC

from wattcast.api.controlling import Action, plan
from wattcast.api.errors import ApiProblem, problem_for
from wattcast.api.fleetmapping import fleet_public, fleet_view
from wattcast.api.kube import KubeClient
from wattcast.api.main import create_app
from wattcast.api.models import FleetStage
from wattcast.api.resources import FLEET
from wattcast.api.routes.events import _Stream
from wattcast.api.submitting import manifest
from wattcast.crd import constants
from wattcast.crd.fleettrainingjob import FleetTrainingJobSpec
from wattcast.crd.kubeapi import KubeApiError


def fleet(status: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": constants.API_VERSION,
        "kind": constants.FLEET_KIND,
        "metadata": {"name": "fleet-1", "namespace": "ns", "resourceVersion": "7", **metadata},
        "spec": dict(VALID_FLEET_SPEC),
    }
    if status is not None:
        obj["status"] = status
    return obj


RUNNING = {
    "phase": "Running",
    "progress": {"finished": 3, "total": 4, "percent": 75},
    "counts": {"total": 4, "succeeded": 2, "failed": 1, "promoted": 1, "beatBaseline": 2},
    "failures": [
        {
            "meter": "meter2",
            "reason": "InfluxUnavailable",
            "message": "cannot reach http://10.0.0.7:8086/query",
        }
    ],
    "metrics": {
        "maeOverBestBaseline": {"median": 0.8, "p90": 1.1, "meters": 2},
        "histogram": [{"le": 0.8, "count": 1}, {"le": 1.1, "count": 1}, {"count": 0}],
    },
}
CANCELLED = {constants.ANNOTATION_CANCELLED: "true"}


def test_a_new_fleet_is_pending_with_nothing_known() -> None:
    public = fleet_public(fleet())
    assert public.stage is FleetStage.PENDING
    assert (public.finished, public.progress, public.meters_finished) == (False, 0, 0)
    assert public.meters_total is None
    assert public.spec is not None and public.spec.meters.ids == ["meter1", "meter2"]


def test_a_running_fleet_shows_progress_counts_and_redacted_failures() -> None:
    public = fleet_public(fleet(RUNNING))
    assert public.stage is FleetStage.RUNNING
    assert (public.progress, public.meters_finished, public.meters_total) == (75, 3, 4)
    assert public.status is not None and public.status.counts is not None
    assert public.status.counts.beat_baseline == 2
    assert public.status.failures is not None
    message = public.status.failures[0].message
    assert "10.0.0.7" not in message and "[address]" in message
    assert public.status.metrics is not None and public.status.metrics.histogram is not None


def test_a_cancelled_fleet_is_finished_unless_it_had_finished_before() -> None:
    cancelled = fleet_public(fleet(RUNNING, annotations=CANCELLED))
    assert (cancelled.stage, cancelled.finished, cancelled.cancelled) == (
        FleetStage.CANCELLED,
        True,
        True,
    )
    done = fleet_public(fleet({**RUNNING, "phase": "Succeeded"}, annotations=CANCELLED))
    assert (done.stage, done.progress) == (FleetStage.SUCCEEDED, 100)


def test_a_failed_fleet_says_why() -> None:
    status = {
        "phase": "Failed",
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "DeadlineExceeded",
                "message": "ran past activeDeadlineSeconds",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    public = fleet_public(fleet(status))
    assert (public.stage, public.finished, public.failure_reason) == (
        FleetStage.FAILED,
        True,
        "DeadlineExceeded",
    )


def test_a_status_field_that_does_not_validate_is_left_out_not_fatal() -> None:
    public = fleet_public(fleet({**RUNNING, "counts": {"total": -1}}))
    assert public.status is not None
    assert public.status.counts is None and public.status.progress is not None


@pytest.mark.parametrize("action", list(Action))
def test_a_finished_fleet_refuses_every_action(action: Action) -> None:
    with pytest.raises(ApiProblem) as raised:
        plan(fleet({"phase": "Succeeded"}), action, FLEET)
    assert raised.value.status_code == 409
    assert "FleetTrainingJob 'fleet-1' has already finished" in raised.value.detail


def test_fleet_actions_patch_suspend_with_the_version_read() -> None:
    running = fleet(RUNNING)
    assert plan(running, Action.SUSPEND, FLEET) == {
        "metadata": {"resourceVersion": "7"},
        "spec": {"suspend": True},
    }
    cancel = plan(running, Action.CANCEL, FLEET)
    assert cancel is not None
    assert cancel["metadata"]["annotations"] == CANCELLED
    with pytest.raises(ApiProblem, match="FleetTrainingJob 'fleet-1' was cancelled"):
        plan(fleet(RUNNING, annotations=CANCELLED), Action.RESUME, FLEET)


def test_the_manifest_is_a_fleettrainingjob_with_its_labels_and_key() -> None:
    spec = FleetTrainingJobSpec.model_validate(VALID_FLEET_SPEC)
    body = manifest(name="f", namespace="ns", spec=spec, idempotency_key="k-1", resource=FLEET)
    assert (body["apiVersion"], body["kind"]) == (constants.API_VERSION, "FleetTrainingJob")
    assert body["metadata"]["labels"][constants.LABEL_METER_TYPE] == "electricity"
    assert body["metadata"]["annotations"] == {constants.ANNOTATION_IDEMPOTENCY_KEY: "k-1"}
    assert body["spec"]["meters"] == {"ids": ["meter1", "meter2"]}


def test_kubernetes_errors_name_the_fleet_kind_and_its_crd() -> None:
    missing = problem_for(
        KubeApiError(status=404, message="nf"), action="list", namespace="ns", resource=FLEET
    )
    assert missing.status_code == 503 and "crds/fleettrainingjob.yaml" in missing.detail
    gone = problem_for(
        KubeApiError(status=404, message="nf"),
        action="read",
        namespace="ns",
        name="f",
        resource=FLEET,
    )
    assert gone.detail == "FleetTrainingJob 'f' not found in namespace 'ns'."


def test_the_fleet_stream_sends_each_status_change_once() -> None:
    stream = _Stream(
        cast(KubeClient, None),
        "ns",
        "fleet-1",
        5,
        resource=FLEET,
        public=fleet_public,
        view=fleet_view,
    )
    first = stream.changed("ADDED", fleet(RUNNING))
    assert first is not None and first.event == "ADDED"
    assert stream.changed("MODIFIED", fleet(RUNNING, resourceVersion="8")) is None
    more = {**RUNNING, "progress": {"finished": 4, "total": 4, "percent": 100}}
    news = stream.changed("MODIFIED", fleet(more, resourceVersion="9"))
    assert news is not None and news.event == "MODIFIED" and not stream.finished
    stream.changed("MODIFIED", fleet({**more, "phase": "Succeeded"}, resourceVersion="10"))
    assert stream.finished


def test_the_openapi_document_has_every_fleet_endpoint_with_its_errors() -> None:
    openapi = create_app().openapi()
    paths = openapi["paths"]
    expected = {
        ("post", "/v1/fleettrainingjobs"),
        ("get", "/v1/fleettrainingjobs"),
        ("get", "/v1/fleettrainingjobs/{name}"),
        ("delete", "/v1/fleettrainingjobs/{name}"),
        ("post", "/v1/fleettrainingjobs/{name}/suspend"),
        ("post", "/v1/fleettrainingjobs/{name}/resume"),
        ("post", "/v1/fleettrainingjobs/{name}/cancel"),
        ("get", "/v1/fleettrainingjobs/{name}/events"),
    }
    for method, path in expected:
        operation = paths[path][method]
        assert operation["summary"], (method, path)
        assert {"401", "403", "422", "503"} <= set(operation["responses"]), (method, path)
        assert operation["security"] == [{"HTTPBearer": []}]
    not_found = paths["/v1/fleettrainingjobs/{name}"]["get"]["responses"]["404"]
    assert not_found["description"] == "No such FleetTrainingJob."
    assert "FleetTrainingJobPublic" in openapi["components"]["schemas"]
