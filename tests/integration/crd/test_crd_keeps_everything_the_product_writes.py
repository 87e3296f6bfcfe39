"""The real kube-apiserver accepts the generated CRD (its CEL cost estimation included), and
structural pruning keeps every field the product writes: a full spec and a full status are
read back exactly as written, and so are the operator's and the trainer's own status patches.

A field the schema lacks would be dropped silently by the server; the fix belongs in the
contract (crds/src/wattcast/crd), never in the writer.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from crd_support import run_kubectl
from pydantic import BaseModel
from testkit import TrainingJobs, tj_body

from wattcast.crd import (
    Condition,
    ConditionStatus,
    ConditionType,
    Metrics,
    Phase,
    Reason,
    TerminationMessage,
    TrainingJobSpec,
    TrainingJobStatus,
    TrainingProgress,
    TrainingResult,
    generate,
)
from wattcast.operator import status as operator_status
from wattcast.operator.status import JobObservation, JobState
from wattcast.trainer.progress import ProgressState

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def unset_fields(model: BaseModel, path: str = "") -> list[str]:
    """Every field of `model`, nested models included, left None: the example misses it."""
    missing = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        here = f"{path}.{name}".lstrip(".")
        if value is None:
            missing.append(here)
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, BaseModel):
                missing += unset_fields(child, here)
        if isinstance(value, dict):
            for key, child in value.items():
                if isinstance(child, BaseModel):
                    missing += unset_fields(child, f"{here}.{key}")
    return missing


FULL_SPEC = TrainingJobSpec.model_validate(
    {
        "meterId": "W-0042:north.zone_3",
        "meterType": "water",
        "start": "2024-01-01T00:00:00+01:00",
        "end": "2024-07-01T00:00:00+02:00",
        "source": {"name": "archive", "bucket": "energy.raw", "database": "energy_data"},
        "model": {
            "type": "lstm",
            "resolution": "15m",
            "lookbackHours": 336,
            "horizonHours": 48,
            "epochs": 30,
            "batchSize": 256,
            "learningRate": 0.0005,
            "holdoutDays": 21,
            "useTemperature": False,
            "seed": 7,
        },
        "resources": {
            "requests": {"cpu": "500m", "memory": "2Gi"},
            "limits": {"cpu": "2", "memory": "4Gi"},
        },
        "backoffLimit": 2,
        "activeDeadlineSeconds": 3600,
        "ttlSecondsAfterFinished": 86400,
        "queueName": "training",
        "priorityClass": "low",
        "suspend": True,
    }
)

RESULT = TrainingResult.model_validate(
    {
        "modelPath": "water/w-0042/versions/20240301T120000000000Z-abc123/model.keras",
        "dataPoints": 4368,
        "promoted": True,
        "promotionReason": "promoted: holdout MAE 0.41 beats the best baseline naiveWeekly (0.52)",
        "trainingCompleted": "2024-03-01T12:00:00Z",
        "metrics": {
            "holdout": {
                "start": "2024-06-10T00:00:00Z",
                "end": "2024-07-01T00:00:00Z",
                "points": 504,
            },
            "model": {"mae": 0.41, "rmse": 0.57, "smape": 12.5},
            "baselines": {
                "naiveDaily": {"mae": 0.63, "rmse": 0.88, "smape": 18.25},
                "naiveWeekly": {"mae": 0.52, "rmse": 0.71, "smape": 15.0},
            },
        },
    }
)

FULL_STATUS = TrainingJobStatus(
    phase=Phase.SAVING,
    progress=95,
    message="saving the model",
    job_name="water-w-0042-2024h1",
    start_time=datetime(2024, 3, 1, 11, 0, tzinfo=UTC),
    completion_time=NOW,
    observed_generation=1,
    attempts=2,
    training=TrainingProgress(epoch=30, epochs=30, loss=0.0123, val_loss=0.0456, eta_seconds=0),
    result=RESULT,
    conditions=[
        Condition(
            type=ConditionType.JOB_CREATED,
            status=ConditionStatus.TRUE,
            reason=Reason.JOB_CREATED,
            message="created Job water-w-0042-2024h1",
            last_transition_time=NOW,
            observed_generation=1,
        ),
        Condition(
            type=ConditionType.RUNNING,
            status=ConditionStatus.FALSE,
            reason=Reason.TRAINING_SUCCEEDED,
            message="training succeeded",
            last_transition_time=NOW,
            observed_generation=1,
        ),
    ],
)


def merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) applied to `base`."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def test_the_generated_crd_passes_the_servers_checks_without_warnings(kubeconfig: Path) -> None:
    """Server-side dry run of the CRD as the models generate it now: the schema is structural,
    every CEL rule compiles and fits the estimated cost budget, with not even a warning."""
    document = yaml.safe_dump(generate.crd())
    done = run_kubectl(
        kubeconfig, "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=document
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip() == (
        "customresourcedefinition.apiextensions.k8s.io/trainingjobs.wattcast.dev "
        "serverside-applied (server dry run)"
    )


def test_the_examples_cover_every_field() -> None:
    assert unset_fields(FULL_SPEC) == []
    assert unset_fields(FULL_STATUS) == []
    assert unset_fields(RESULT) == []
    assert isinstance(RESULT.metrics, Metrics)


def test_a_full_spec_is_stored_as_written(tjs: TrainingJobs) -> None:
    written = FULL_SPEC.to_json_dict()
    created = tjs.create(tj_body("full-spec", written), field_validation="Strict")
    assert created["spec"] == written
    assert tjs.get("full-spec")["spec"] == written


def test_a_full_status_is_stored_as_written(tjs: TrainingJobs) -> None:
    tjs.create(tj_body("full-status"))
    written = FULL_STATUS.to_json_dict()
    assert tjs.patch_status("full-status", written)["status"] == written
    assert tjs.get("full-status")["status"] == written


def test_the_operators_and_the_trainers_status_patches_are_kept(tjs: TrainingJobs) -> None:
    """The life of a TrainingJob as its writers patch it: the operator records the Job, the
    trainer reports its stages and result, the operator closes it when the Job completes."""
    tjs.create(tj_body("life"))
    expected: dict[str, Any] = {}

    def write(patch: dict[str, Any]) -> None:
        nonlocal expected
        assert patch, "the writer had nothing to write"
        expected = merged(expected, patch)
        assert tjs.patch_status("life", patch).get("status") == expected
        assert tjs.get("life")["status"] == expected

    created = operator_status.job_created(
        {}, job_name="life", adopted=False, queued=False, suspended=False, generation=1, now=NOW
    )
    write(created.patch)
    running = JobObservation(
        name="life", state=JobState.RUNNING, attempts=1, start_time="2024-03-01T12:00:05Z"
    )
    write(
        operator_status.from_job(
            expected, running, suspend=False, cancelled=False, termination=None, now=NOW
        ).patch
    )
    training = TrainingProgress(epoch=3, epochs=20, loss=0.25, val_loss=0.31, eta_seconds=120)
    write(
        ProgressState(Phase.TRAINING, 42, "epoch 3/20", training=training).status_patch()["status"]
    )
    write(
        ProgressState(Phase.SAVING, 99, "saved", training=training, result=RESULT).status_patch()[
            "status"
        ]
    )
    succeeded = JobObservation(
        name="life",
        state=JobState.SUCCEEDED,
        attempts=1,
        start_time="2024-03-01T12:00:05Z",
        completion_time="2024-03-01T12:30:00Z",
    )
    termination = TerminationMessage(phase="Succeeded", reason="TrainingSucceeded", result=RESULT)
    write(
        operator_status.from_job(
            expected, succeeded, suspend=False, cancelled=False, termination=termination, now=NOW
        ).patch
    )
    assert expected["phase"] == "Succeeded"
    assert {c["type"] for c in expected["conditions"]} == {"JobCreated", "Running", "Complete"}
