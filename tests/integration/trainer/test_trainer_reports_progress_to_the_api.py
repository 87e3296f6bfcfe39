"""In a pod: the trainer reads its TrainingJob from the real Kubernetes API, as the chart's
trainer ServiceAccount, and reports progress to its status subresource; the patches are
observed with a watch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from testkit import free_port, tj_body
from trainer_support import run_trainer

from wattcast.crd import Phase, constants
from wattcast.devtools.testbed.influx import InfluxServer, write_meter
from wattcast.trainer.progress import KubernetesStatusApi, ProgressReporter, StatusPatcher

START = datetime(2024, 1, 1, tzinfo=UTC)


def _api(kubeconfig: Path) -> client.CustomObjectsApi:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    return client.CustomObjectsApi(client.ApiClient(configuration))


def _watch_status(
    api: client.CustomObjectsApi,
    namespace: str,
    name: str,
    since: str,
    seen: list[dict[str, Any]],
    done: threading.Event,
) -> None:
    stream = watch.Watch()
    for event in stream.stream(
        api.list_namespaced_custom_object,
        constants.GROUP,
        constants.VERSION,
        namespace,
        constants.PLURAL,
        field_selector=f"metadata.name={name}",
        resource_version=since,
        timeout_seconds=120,
    ):
        status = event["object"].get("status") or {}
        if status:
            seen.append(status)
        if status.get("progress") == 100 or done.is_set():
            stream.stop()
            return


@pytest.mark.slow
def test_progress_patches_reach_the_trainingjob_status(
    kubeconfig: Path,
    trainer_kubeconfig_for: Callable[[dict[str, Any]], Path],
    namespace: str,
    influxdb: InfluxServer,
    influx_database: str,
    synthetic_meter: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meter = synthetic_meter("water", start=START, days=42, seed=8)
    write_meter(influxdb.url, influx_database, "water", "block-2", meter.observed)
    api = _api(kubeconfig)
    name = "train-block-2"
    created = api.create_namespaced_custom_object(
        constants.GROUP,
        constants.VERSION,
        namespace,
        constants.PLURAL,
        tj_body(
            name,
            meterId="block-2",
            meterType="water",
            end=(START + timedelta(days=42)).isoformat().replace("+00:00", "Z"),
            model={"epochs": 8, "holdoutDays": 7},
        ),
    )
    seen: list[dict[str, Any]] = []
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch_status,
        args=(api, namespace, name, created["metadata"]["resourceVersion"], seen, done),
        daemon=True,
    )
    watcher.start()  # it sees every change after the creation, however late it starts

    monkeypatch.setenv("KUBECONFIG", str(trainer_kubeconfig_for(created)))
    monkeypatch.setenv(constants.ENV_TRAININGJOB_NAME, name)
    monkeypatch.setenv(constants.ENV_TRAININGJOB_NAMESPACE, namespace)
    monkeypatch.setenv("INFLUX_URL", influxdb.url)
    monkeypatch.setenv("INFLUX_DIALECT", "influxql")
    monkeypatch.setenv("INFLUX_DATABASE", influx_database)
    monkeypatch.setenv("WATTCAST_STATUS_INTERVAL_SECONDS", "0")
    run = run_trainer(["--models-dir", str(tmp_path / "models")], tmp_path / "term")
    assert run.exit_code == 0, run.output
    watcher.join(15)
    done.set()

    progress = [s["progress"] for s in seen if "progress" in s]
    assert progress == sorted(progress), progress
    assert progress[-1] == 100
    phases = {s.get("phase") for s in seen}
    assert {Phase.PROCESSING_DATA.value, Phase.TRAINING.value, Phase.SAVING.value} <= phases
    epochs = [s["training"]["epoch"] for s in seen if "training" in s]
    assert epochs and epochs == sorted(epochs)
    assert any("etaSeconds" in s.get("training", {}) for s in seen)
    final = api.get_namespaced_custom_object(
        constants.GROUP, constants.VERSION, namespace, constants.PLURAL, name
    )["status"]
    assert final["progress"] == 100
    assert final["result"]["modelPath"].startswith("water/block-2/versions/")
    assert run.termination is not None
    assert run.termination["result"]["modelPath"] == final["result"]["modelPath"]


def test_a_trainingjob_that_does_not_exist_is_permanent(
    kubeconfig: Path, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv(constants.ENV_TRAININGJOB_NAME, "nobody-here")
    monkeypatch.setenv(constants.ENV_TRAININGJOB_NAMESPACE, namespace)
    run = run_trainer(["--models-dir", str(tmp_path / "models")], tmp_path / "term")
    assert run.exit_code == 2
    assert run.termination is not None and run.termination["reason"] == "InvalidConfig"


def test_an_unreachable_api_does_not_stall_or_fail_reporting() -> None:
    port = free_port()  # nothing listens there
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.retries = False
    status_api = KubernetesStatusApi(
        client.ApiClient(configuration), name="x", namespace="y", timeout=1.0
    )
    patcher = StatusPatcher(status_api, interval=0.0, close_timeout=5.0)
    reporter = ProgressReporter([patcher])
    started = time.monotonic()
    for epoch in range(1, 4):
        reporter.epoch(epoch, 3, 0.1, 0.2, 1)
    reporter.close()
    assert time.monotonic() - started < 6.0
    assert patcher.failures >= 1 and patcher.sent == 0


def test_a_trainingjob_from_the_cluster_can_never_name_a_url() -> None:
    from wattcast.forecasting.errors import InvalidConfigError
    from wattcast.trainer.job_loading import validate_trainingjob

    document = {
        "spec": {
            "meterId": "m1",
            "meterType": "water",
            "start": "2024-01-01T00:00:00Z",
            "end": "2024-02-01T00:00:00Z",
            "source": {"url": "http://attacker.example", "dialect": "influxql", "database": "x"},
        }
    }
    with pytest.raises(InvalidConfigError, match="source"):
        validate_trainingjob(document, "TrainingJob ns/x", allow_full_source=False)
    assert validate_trainingjob(document, "file", allow_full_source=True).spec.source is not None
