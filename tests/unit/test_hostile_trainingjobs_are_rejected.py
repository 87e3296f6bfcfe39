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

from refused_trainingjob_specs import REFUSED_SPECS, REMOVED, RefusedSpec
from wattcast.crd import generate
from wattcast.devtools.emulator.validation import CustomResourceSchema

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
SCHEMA = CustomResourceSchema.from_crd(generate.crd(), "v1alpha1")
PREFIX = 'TrainingJob.wattcast.dev "tj-hostile" is invalid: '


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


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_are_accepted(path: Path) -> None:
    result = SCHEMA.validate(yaml.safe_load(path.read_text()))
    assert result.errors == [], result.message()


# The hostile and malformed creates live in one table shared with the API's tests
# (tests/refused_trainingjob_specs.py), so the REST API refuses exactly what the CRD refuses.
@pytest.mark.parametrize("case", REFUSED_SPECS, ids=[case.id for case in REFUSED_SPECS])
def test_hostile_spec_is_rejected_with_a_clear_message(case: RefusedSpec) -> None:
    result = SCHEMA.validate(trainingjob(**case.changes))
    message = result.message()
    assert not result.ok
    assert message.startswith(PREFIX), message
    assert case.crd_says in message, message


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


def test_phase_moves_freely_before_it_is_terminal() -> None:
    old = with_status(stored(), phase="Training", progress=40)
    new = with_status(stored(), phase="Failed", progress=40)
    assert SCHEMA.validate(new, old=old).ok


def test_bad_status_values_are_rejected() -> None:
    obj = with_status(stored(), phase="Exploded", progress=101)
    message = SCHEMA.validate(obj).message()
    assert 'status.phase: Unsupported value: "Exploded"' in message
    assert "status.progress: Invalid value: 101" in message
