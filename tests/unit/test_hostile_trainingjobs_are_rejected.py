"""Every hostile or malformed TrainingJob is refused by the generated CRD's schema or one of its
CEL rules, with the message `kubectl apply` would show.

The schema and rules are evaluated by the emulator's validator (structural OpenAPI checks plus
cel-python). cel-python is not Kubernetes' own CEL, which is why every date rule calls
`timestamp()`/`duration()` explicitly: the rule then means the same in both.
"""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from wattcast.crd import generate
from wattcast.devtools.emulator.validation import CustomResourceSchema

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
SCHEMA = CustomResourceSchema.from_crd(generate.crd(), "v1alpha1")
PREFIX = 'TrainingJob.wattcast.dev "tj-hostile" is invalid: '
METER_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


def trainingjob(**spec: Any) -> dict[str, Any]:
    base = {
        "meterId": "meter1",
        "meterType": "electricity",
        "start": "2023-01-01T00:00:00Z",
        "end": "2023-12-31T23:59:59Z",
    }
    base.update(spec)
    for key in [k for k, v in base.items() if v is REMOVED]:
        del base[key]
    return {
        "apiVersion": "wattcast.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": "tj-hostile", "namespace": "default"},
        "spec": base,
    }


REMOVED = object()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_are_accepted(path: Path) -> None:
    result = SCHEMA.validate(yaml.safe_load(path.read_text()))
    assert result.errors == [], result.message()


HOSTILE_CREATES: list[tuple[str, dict[str, Any], str]] = [
    (
        "influxql-injection",
        trainingjob(meterId="meter1' OR 1=1 --"),
        f"""spec.meterId: Invalid value: "meter1' OR 1=1 --": spec.meterId in body should """
        f"""match '{METER_PATTERN}'""",
    ),
    (
        "flux-injection",
        trainingjob(meterId='m") |> drop() //'),
        'spec.meterId: Invalid value: "m\\") |> drop() //": spec.meterId in body should match',
    ),
    (
        "newline-in-id",
        trainingjob(meterId="meter1\nDROP"),
        'spec.meterId: Invalid value: "meter1\\nDROP": spec.meterId in body should match',
    ),
    (
        "nul-in-id",
        trainingjob(meterId="meter\x001"),
        "spec.meterId in body should match",
    ),
    (
        "path-traversal-id",
        trainingjob(meterId="../../etc/passwd"),
        'spec.meterId: Invalid value: "../../etc/passwd": spec.meterId in body should match',
    ),
    (
        "empty-id",
        trainingjob(meterId=""),
        'spec.meterId: Invalid value: "": spec.meterId in body should be at least 1 chars long',
    ),
    (
        "oversized-id",
        trainingjob(meterId="m" * 129),
        "spec.meterId: Too long: may not be more than 128 bytes",
    ),
    (
        "unknown-meter-type",
        trainingjob(meterType="gas"),
        'spec.meterType: Unsupported value: "gas": supported values: "electricity", "water"',
    ),
    ("missing-meter-id", trainingjob(meterId=REMOVED), "spec.meterId: Required value"),
    ("missing-start", trainingjob(start=REMOVED), "spec.start: Required value"),
    (
        "not-a-date",
        trainingjob(start="yesterday"),
        'spec.start: Invalid value: "yesterday": spec.start in body must be of type date-time',
    ),
    (
        "reversed-dates",
        trainingjob(start="2024-01-01T00:00:00Z", end="2023-01-01T00:00:00Z"),
        'spec: Invalid value: "object": end must be after start',
    ),
    (
        "equal-dates",
        trainingjob(start="2024-01-01T00:00:00Z", end="2024-01-01T00:00:00Z"),
        'spec: Invalid value: "object": end must be after start',
    ),
    (
        "absurd-range",
        trainingjob(start="1900-01-01T00:00:00Z", end="2024-01-01T00:00:00Z"),
        'spec: Invalid value: "object": the range from start to end must be at most 10 years',
    ),
    (
        "offset-hides-reversal",
        # 10:00+02:00 is 08:00Z, before the start at 09:00Z: compared as timestamps, not text.
        trainingjob(start="2024-01-01T09:00:00Z", end="2024-01-01T10:00:00+02:00"),
        'spec: Invalid value: "object": end must be after start',
    ),
    (
        "negative-epochs",
        trainingjob(model={"epochs": -1}),
        "spec.model.epochs: Invalid value: -1: spec.model.epochs in body should be greater "
        "than or equal to 1",
    ),
    (
        "epochs-as-string",
        trainingjob(model={"epochs": "many"}),
        'spec.model.epochs: Invalid value: "string": spec.model.epochs in body must be of type '
        "integer",
    ),
    (
        "zero-learning-rate",
        trainingjob(model={"learningRate": 0}),
        "spec.model.learningRate: Invalid value: 0: spec.model.learningRate in body should be "
        "greater than 0",
    ),
    (
        "huge-backoff",
        trainingjob(backoffLimit=1000000),
        "spec.backoffLimit: Invalid value: 1000000: spec.backoffLimit in body should be less "
        "than or equal to 20",
    ),
    (
        "source-with-url-is-pruned-name-checked",
        trainingjob(source={"name": "Evil Host"}),
        'spec.source.name: Invalid value: "Evil Host": spec.source.name in body should match',
    ),
    (
        "bad-quantity",
        trainingjob(resources={"limits": {"memory": "lots"}}),
        'spec.resources.limits.memory: Invalid value: "lots": spec.resources.limits.memory in '
        "body should match",
    ),
    (
        "priority-without-queue",
        trainingjob(priorityClass="high"),
        'spec: Invalid value: "object": priorityClass needs queueName',
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [(obj, expected) for _, obj, expected in HOSTILE_CREATES],
    ids=[case for case, _, _ in HOSTILE_CREATES],
)
def test_hostile_spec_is_rejected_with_a_clear_message(obj: dict[str, Any], expected: str) -> None:
    result = SCHEMA.validate(obj)
    message = result.message()
    assert not result.ok
    assert message.startswith(PREFIX), message
    assert expected in message, message


def test_name_longer_than_a_job_name_is_rejected() -> None:
    obj = trainingjob()
    obj["metadata"]["name"] = "a" * 64
    message = SCHEMA.validate(obj).message()
    assert "metadata.name must be at most 63 characters (the Job takes the same name)" in message


def test_url_in_a_source_never_reaches_the_stored_object() -> None:
    """A TrainingJob cannot name an arbitrary host: unknown fields are pruned, as on a real API
    server, so the operator never sees them (and the API refuses them outright)."""
    obj = trainingjob(source={"name": "default", "url": "http://attacker.example:8086"})
    result = SCHEMA.validate(obj)
    assert result.ok
    assert result.object["spec"]["source"] == {"name": "default"}


def stored(**spec: Any) -> dict[str, Any]:
    result = SCHEMA.validate(trainingjob(**spec))
    assert result.ok, result.message()
    return result.object


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"meterId": "meter2"}, "meterId"),
        ({"end": "2023-06-30T00:00:00Z"}, "end"),
        ({"model": {"epochs": 3}}, "model"),
        ({"queueName": "fast"}, "queueName"),
    ],
    ids=["meter-id", "end", "model-added", "queue-added"],
)
def test_spec_change_after_creation_is_rejected(change: dict[str, Any], path: str) -> None:
    old = stored()
    new = copy.deepcopy(old)
    new["spec"].update(change)
    message = SCHEMA.validate(new, old=old).message()
    assert "spec: Forbidden: spec is immutable after creation, except spec.suspend" in (message), (
        path
    )


def test_suspend_may_change_after_creation() -> None:
    old = stored()
    new = copy.deepcopy(old)
    new["spec"]["suspend"] = True
    assert SCHEMA.validate(new, old=old).ok


def with_status(obj: dict[str, Any], **status: Any) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["status"] = status
    return obj


@pytest.mark.parametrize("terminal", ["Succeeded", "Failed"])
@pytest.mark.parametrize("new_phase", ["Training", "Pending", "Succeeded", "Failed"])
def test_a_terminal_phase_stays_terminal(terminal: str, new_phase: str) -> None:
    old = with_status(stored(), phase=terminal, progress=100)
    new = with_status(stored(), phase=new_phase, progress=100)
    result = SCHEMA.validate(new, old=old)
    if new_phase == terminal:
        assert result.ok, result.message()
    else:
        assert "status: Forbidden: a finished TrainingJob's phase cannot change" in (
            result.message()
        )


FINISHED_MESSAGE = (
    "status: Forbidden: a finished TrainingJob's phase cannot change, and its status cannot "
    "be removed"
)
RESULT = {
    "modelPath": "electricity/meter1/versions/20240101T000000000000Z-abcdef/model.keras",
    "dataPoints": 8000,
    "trainingCompleted": "2024-01-01T00:00:00Z",
}


def without_status(obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    return obj


@pytest.mark.parametrize("terminal", ["Succeeded", "Failed"])
@pytest.mark.parametrize(
    "removal",
    [without_status, lambda obj: with_status(obj)],
    ids=["status-removed", "status-emptied"],
)
def test_a_finished_status_cannot_be_removed(terminal: str, removal: Any) -> None:
    old = with_status(stored(), phase=terminal, progress=100)
    result = SCHEMA.validate(removal(stored()), old=old)
    assert FINISHED_MESSAGE in result.message()
    assert result.errors[0].cause()["reason"] == "FieldValueForbidden"


def test_a_finished_phase_cannot_be_dropped_from_the_status() -> None:
    old = with_status(stored(), phase="Succeeded", progress=100)
    assert (
        FINISHED_MESSAGE in SCHEMA.validate(with_status(stored(), progress=100), old=old).message()
    )


@pytest.mark.parametrize("phase", ["Pending", "Training"])
def test_an_unfinished_status_may_still_be_removed(phase: str) -> None:
    old = with_status(stored(), phase=phase, progress=40)
    assert SCHEMA.validate(without_status(stored()), old=old).ok


@pytest.mark.parametrize(
    "change",
    [
        {"modelPath": "electricity/meter2/versions/20240101T000000000000Z-abcdef/model.keras"},
        {"dataPoints": 9000},
    ],
    ids=["model-path", "data-points"],
)
def test_a_finished_result_cannot_change(change: dict[str, Any]) -> None:
    old = with_status(stored(), phase="Succeeded", progress=100, result=RESULT)
    new = with_status(stored(), phase="Succeeded", progress=100, result={**RESULT, **change})
    message = SCHEMA.validate(new, old=old).message()
    assert "status: Forbidden: a finished TrainingJob's result cannot change" in message


def test_a_finished_result_cannot_be_removed() -> None:
    old = with_status(stored(), phase="Succeeded", progress=100, result=RESULT)
    new = with_status(stored(), phase="Succeeded", progress=100)
    assert "a finished TrainingJob's result cannot change" in SCHEMA.validate(new, old).message()


def test_a_finished_status_may_still_gain_conditions_and_messages() -> None:
    old = with_status(stored(), phase="Succeeded", progress=100, result=RESULT)
    new = with_status(
        stored(), phase="Succeeded", progress=100, result=RESULT, message="kept for audit"
    )
    assert SCHEMA.validate(new, old=old).ok


def test_the_result_may_arrive_with_the_finished_phase() -> None:
    old = with_status(stored(), phase="Saving", progress=95)
    new = with_status(stored(), phase="Succeeded", progress=100, result=RESULT)
    assert SCHEMA.validate(new, old=old).ok


def test_phase_moves_freely_before_it_is_terminal() -> None:
    old = with_status(stored(), phase="Training", progress=40)
    new = with_status(stored(), phase="Failed", progress=40)
    assert SCHEMA.validate(new, old=old).ok


def test_bad_status_values_are_rejected() -> None:
    obj = with_status(stored(), phase="Exploded", progress=101)
    message = SCHEMA.validate(obj).message()
    assert 'status.phase: Unsupported value: "Exploded"' in message
    assert "status.progress: Invalid value: 101" in message
