"""GET /v1/trainingjobs/{name}/model against the real API server and a model store in a
temporary directory: what the job page plots, and a clear 404 for each reason it cannot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dashboard_support import METRICS, TOKEN, build_app, job_body, write_model
from testkit import TrainingJobs

from wattcast.api.core.config import Settings
from wattcast.api.dashboard.settings import DashboardSettings
from wattcast.devtools.cluster.chart import ChartIdentities
from wattcast.devtools.serving import ServedApp


def _succeed(cluster: TrainingJobs, name: str, model_path: str) -> None:
    cluster.patch_status(
        name,
        {
            "phase": "Succeeded",
            "progress": 100,
            "result": {
                "modelPath": model_path,
                "dataPoints": 1416,
                "trainingCompleted": "2026-01-01T10:04:09Z",
                "metrics": METRICS,
            },
        },
    )


def test_a_succeeded_job_gets_its_loss_holdout_and_lineage(
    api: httpx.Client, cluster: TrainingJobs, models_dir: Path
) -> None:
    assert api.post("/v1/trainingjobs", json=job_body("tj-m1", "meter-m")).status_code == 201
    write_model(models_dir, "electricity", "meter-m", "20251201T000000Z", "tj-m0", current=False)
    path = write_model(
        models_dir, "electricity", "meter-m", "20260101T000000Z", "tj-m1", current=True
    )
    _succeed(cluster, "tj-m1", path)

    response = api.get("/v1/trainingjobs/tj-m1/model")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["modelPath"] == path
    assert body["current"] is True
    assert body["problems"] == []
    assert len(body["loss"]["epochs"]) == 12
    assert len(body["loss"]["valLoss"]) == 12
    holdout = body["holdout"]
    assert len(holdout["timestamps"]) == 336
    assert holdout["actual"][40] is None
    assert {"forecast", "naiveDaily", "naiveWeekly"} <= set(holdout)
    assert [v["trainingJob"] for v in body["versions"]] == ["tj-m1", "tj-m0"]
    assert body["trainingJob"]["name"] == "tj-m1"


def test_a_job_without_a_model_yet_is_a_404_that_says_why(
    api: httpx.Client, cluster: TrainingJobs
) -> None:
    assert api.post("/v1/trainingjobs", json=job_body("tj-m2", "meter-m")).status_code == 201
    cluster.patch_status("tj-m2", {"phase": "Training", "progress": 50})
    response = api.get("/v1/trainingjobs/tj-m2/model")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "TrainingJob 'tj-m2' has no saved model in its meter's model directory (phase "
        "Training); a model exists once it succeeded."
    )


def test_an_unknown_job_is_a_404(api: httpx.Client) -> None:
    response = api.get("/v1/trainingjobs/tj-nobody/model")
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


def test_a_model_gone_from_the_store_is_a_404_that_says_why(
    api: httpx.Client, cluster: TrainingJobs
) -> None:
    assert api.post("/v1/trainingjobs", json=job_body("tj-m3", "meter-m")).status_code == 201
    _succeed(cluster, "tj-m3", "electricity/meter-m/versions/20200101T000000Z/model.keras")
    response = api.get("/v1/trainingjobs/tj-m3/model")
    assert response.status_code == 404
    assert "has no metadata for" in response.json()["detail"]


@pytest.mark.parametrize(
    "model_path",
    [
        "electricity/../../etc/model.keras",
        "electricity/meter-m/versions/../../meter-x/versions/20260101T000000Z/model.keras",
        "electricity/meter-x/versions/20260101T000000Z/model.keras",
        "water/meter-m/versions/20260101T000000Z/model.keras",
        "electricity/meter-m/current/model.keras",
    ],
    ids=["dot-dot-out", "dot-dot-sideways", "other-meter", "other-type", "not-a-version"],
)
def test_a_model_outside_the_jobs_meter_directory_is_never_served(
    api: httpx.Client, cluster: TrainingJobs, models_dir: Path, model_path: str
) -> None:
    # Another meter's model exists and is readable: a forged modelPath must not reach it.
    write_model(models_dir, "electricity", "meter-x", "20260101T000000Z", "tj-x", current=True)
    write_model(models_dir, "water", "meter-m", "20260101T000000Z", "tj-w", current=True)
    write_model(models_dir, "electricity", "meter-m", "20260101T000000Z", "tj-m", current=True)
    assert api.post("/v1/trainingjobs", json=job_body("tj-m4", "meter-m")).status_code == 201
    _succeed(cluster, "tj-m4", model_path)
    response = api.get("/v1/trainingjobs/tj-m4/model")
    assert response.status_code == 404
    assert "no saved model in its meter's model directory" in response.json()["detail"]
    # The resource view and the seed's status say no model either.
    job = api.get("/v1/trainingjobs/tj-m4").json()
    assert "result" not in job["status"]
    seed = api.get("/trainmodel/status/tj-m4").json()
    assert seed["status"] == "SUCCESS"
    assert "model_path" not in seed["result"]["details"]


def test_a_link_in_the_meters_directory_to_another_meter_is_not_followed(
    api: httpx.Client, cluster: TrainingJobs, models_dir: Path
) -> None:
    write_model(models_dir, "electricity", "meter-x", "20260101T000000Z", "tj-x", current=True)
    versions = models_dir / "electricity" / "meter-m" / "versions"
    versions.mkdir(parents=True)
    (versions / "20260101T000000Z").symlink_to(
        models_dir / "electricity" / "meter-x" / "versions" / "20260101T000000Z"
    )
    assert api.post("/v1/trainingjobs", json=job_body("tj-m6", "meter-m")).status_code == 201
    _succeed(cluster, "tj-m6", "electricity/meter-m/versions/20260101T000000Z/model.keras")
    response = api.get("/v1/trainingjobs/tj-m6/model")
    assert response.status_code == 404
    assert "goes through a link in the model store" in response.json()["detail"]


@pytest.fixture
def storeless_api(
    api_kubeconfig: Path, chart_identities: ChartIdentities, namespace: str
) -> Iterator[httpx.Client]:
    chart_identities.grant(namespace, "api")
    settings = Settings(api_tokens=TOKEN, api_kubeconfig=api_kubeconfig, api_namespace=namespace)
    served = ServedApp(build_app(settings, DashboardSettings(models_dir=None))).start()
    try:
        with httpx.Client(
            base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as c:
            yield c
    finally:
        served.stop()


def test_without_a_model_store_the_404_names_the_setting(
    storeless_api: httpx.Client, cluster: TrainingJobs
) -> None:
    body = job_body("tj-m5", "meter-m")
    assert storeless_api.post("/v1/trainingjobs", json=body).status_code == 201
    _succeed(cluster, "tj-m5", "electricity/meter-m/versions/v1/model.keras")
    response = storeless_api.get("/v1/trainingjobs/tj-m5/model")
    assert response.status_code == 404
    assert "WATTCAST_MODELS_DIR" in response.json()["detail"]
