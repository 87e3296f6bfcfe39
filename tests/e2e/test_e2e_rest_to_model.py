"""REST → TrainingJob → operator → Job → Job controller → kubelet → trainer → InfluxDB → SUCCESS.

The seed's own request and answers, end to end; then the /v1 API with a tiny model, which
also shows the metrics next to the baselines and what the pod left behind.
"""

from __future__ import annotations

import json
from datetime import timedelta

from e2e_support import E2E, START, condition, stamp, unique


def test_seed_endpoint_trains_a_model(e2e: E2E) -> None:
    meter = unique("seed")
    e2e.load_meter(meter, "electricity", days=45)
    answer = e2e.submit_seed(meter, "electricity", stamp(START), stamp(START + timedelta(days=45)))
    assert answer["status"] == "PENDING"
    assert answer["progress"] == 0
    task_id = answer["task_id"]

    e2e.wait_success(task_id)
    seed = e2e.seed_status(task_id)
    assert seed["status"] == "SUCCESS"
    assert seed["progress"] == 100
    details = seed["result"]["details"]
    assert seed["result"]["status"] == "success"
    assert details["meter_id"] == meter
    assert details["meter_type"] == "electricity"
    assert details["data_points"] > 24 * 28
    assert details["model_path"].startswith(f"models/electricity/{meter}/versions/")
    assert details["model_path"] in seed["result"]["message"]
    saved = e2e.stack.models_dir / details["model_path"].removeprefix("models/")
    assert saved.is_file()
    current = e2e.stack.models_dir / "electricity" / meter / "current"
    assert (current / "model.keras").resolve() == saved.resolve()
    metadata = json.loads((saved.parent / "metadata.json").read_text())
    assert metadata["meter"]["id"] == meter if isinstance(metadata.get("meter"), dict) else True

    # Exactly one Job and one pod, which succeeded and left the trainer's result message.
    (job,) = e2e.jobs_of(task_id)
    assert job["status"]["succeeded"] == 1
    (pod,) = e2e.pods_of(task_id)
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0
    assert json.loads(terminated["message"])["phase"] == "Succeeded"


def test_resource_api_reports_metrics_and_conditions(e2e: E2E) -> None:
    meter = unique("v1")
    e2e.load_meter(meter)
    name = e2e.create(meter)
    final = e2e.wait_success(name)
    status = final["status"]
    assert final["phase"] == "Succeeded"
    assert status["progress"] == 100
    assert status["attempts"] == 1
    assert status["jobName"] == name
    assert status["startTime"] <= status["completionTime"]
    metrics = status["result"]["metrics"]
    assert metrics["holdout"]["points"] > 0
    for entry in (metrics["model"], *metrics["baselines"].values()):
        assert set(entry) >= {"mae", "rmse", "smape"}
    assert {"naiveDaily", "naiveWeekly"} <= set(metrics["baselines"])
    assert status["training"]["epochs"] == 1
    complete = condition(final, "Complete")
    assert complete is not None and complete["reason"] == "TrainingSucceeded"
    assert condition(final, "Failed") is None
