"""The pydantic contract: what it accepts, what it refuses, and the JSON it produces."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from wattcast.crd import (
    MeterType,
    ModelType,
    Phase,
    TerminationMessage,
    TrainingJob,
    TrainingJobSpec,
    TrainingResult,
    constants,
)

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))
SEED_SPEC = {
    "meterId": "meter1",
    "meterType": "electricity",
    "start": "2023-01-01T00:00:00Z",
    "end": "2023-12-31T23:59:59Z",
}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_parse_as_trainingjobs(path: Path) -> None:
    job = TrainingJob.model_validate(yaml.safe_load(path.read_text()))
    assert job.metadata.name and len(job.metadata.name) <= constants.MAX_NAME_LENGTH


def test_seed_example_is_among_the_examples() -> None:
    specs = [yaml.safe_load(p.read_text())["spec"] for p in EXAMPLES]
    assert SEED_SPEC in specs


def test_spec_round_trips_in_camel_case_without_unset_fields() -> None:
    spec = TrainingJobSpec.model_validate(SEED_SPEC)
    assert spec.meter_type is MeterType.ELECTRICITY
    assert spec.to_json_dict() == {**SEED_SPEC, "suspend": False}


def test_python_names_are_accepted_too() -> None:
    spec = TrainingJobSpec(
        meter_id="m-1",
        meter_type=MeterType.WATER,
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 2, 1, tzinfo=UTC),
    )
    assert spec.effective_model.type is ModelType.SEASONAL_RESIDUAL
    assert spec.meter_type.measurement == "water_consumption"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"meterId": "m'; DROP"}, "meterId"),
        ({"meterId": ""}, "meterId"),
        ({"meterType": "gas"}, "meterType"),
        ({"start": "2023-01-01T00:00:00"}, "start"),
        ({"unknown": 1}, "unknown"),
        ({"source": {"url": "http://evil.example"}}, "source.url"),
    ],
    ids=["injection", "empty-id", "gas", "naive-datetime", "unknown-field", "source-url"],
)
def test_spec_refuses_bad_input(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        TrainingJobSpec.model_validate({**SEED_SPEC, **change})
    locations = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert field in locations


def test_phases_know_which_are_terminal() -> None:
    assert {p for p in Phase if p.is_terminal} == {Phase.SUCCEEDED, Phase.FAILED}


def test_termination_message_fits_the_kubernetes_limit() -> None:
    result = TrainingResult(
        model_path="electricity/meter1/versions/v1/model.keras",
        data_points=8760,
        training_completed=datetime(2024, 1, 1, tzinfo=UTC),
    )
    message = TerminationMessage(
        phase="Succeeded", reason="TrainingSucceeded", message="é" * 1000, result=result
    )
    data = message.to_bytes()
    assert len(data) <= constants.TERMINATION_MESSAGE_MAX_BYTES
    parsed = TerminationMessage.model_validate(json.loads(data))
    assert parsed.result == result


@pytest.mark.parametrize(
    ("start", "end", "kind"),
    [
        ("2024-01-01T00:00:00Z", "2023-01-01T00:00:00Z", "range_empty"),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "range_empty"),
        ("2024-01-01T09:00:00Z", "2024-01-01T10:00:00+02:00", "range_empty"),
        ("1900-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "range_too_long"),
    ],
    ids=["reversed", "equal", "offset-hides-reversal", "absurd"],
)
def test_models_apply_the_crd_range_rules_too(start: str, end: str, kind: str) -> None:
    """The standalone trainer's YAML never meets an API server: the models check the same
    rules as the CRD's CEL, from the same constant."""
    with pytest.raises(ValidationError) as info:
        TrainingJobSpec.model_validate({**SEED_SPEC, "start": start, "end": end})
    (error,) = info.value.errors()
    assert (error["type"], error["loc"]) == (kind, ("end",))


def test_range_messages_use_the_callers_field_names() -> None:
    with pytest.raises(ValidationError) as info:
        TrainingJobSpec.model_validate(
            {**SEED_SPEC, "end": SEED_SPEC["start"]},
            context={"field_names": {"start": "start_date", "end": "end_date"}},
        )
    assert info.value.errors()[0]["msg"] == (
        "must be after start_date (the range [start_date, end_date) is empty)"
    )


def test_ten_years_exactly_is_allowed() -> None:
    spec = TrainingJobSpec.model_validate(
        {**SEED_SPEC, "start": "2014-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}
    )
    assert spec.end.year == 2024
