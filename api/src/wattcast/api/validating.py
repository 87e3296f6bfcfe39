"""Checks of a submission: the contract's models, and the configured sources.

The contract's pydantic models check every field and the rules between them (end after start,
at most 10 years — the same rules the CRD states in CEL), so a bad request gets a field-level
422 before anything reaches Kubernetes. An unknown source is refused here too (only the
operator and the API know the configured names).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from wattcast.api.errors import field_errors, invalid, invalid_field
from wattcast.crd import TrainingJobSpec
from wattcast.crd.fleettrainingjob import FleetTrainingJobSpec


def build_spec(
    data: Mapping[str, Any], *, rename: Mapping[str, str] | None = None
) -> TrainingJobSpec:
    """The contract's spec from Python-named fields; errors name the request's own fields."""
    names = {field: rename.get(field, field) for field in ("start", "end")} if rename else {}
    try:
        return TrainingJobSpec.model_validate(dict(data), context={"field_names": names})
    except ValidationError as exc:
        raise invalid(
            field_errors(exc.errors(include_input=False), prefix=("body",), rename=rename)
        ) from None


def check_spec(
    spec: TrainingJobSpec | FleetTrainingJobSpec, *, source_names: frozenset[str]
) -> None:
    """The configured sources (of a TrainingJob or a FleetTrainingJob); raises a 422."""
    name = spec.source.name if spec.source is not None else None
    if name is not None and name not in source_names:
        known = ", ".join(sorted(source_names))
        raise invalid_field(
            "source.name",
            "body",
            f"unknown source {name!r}; the configured sources are: {known}",
            "unknown_source",
        )
