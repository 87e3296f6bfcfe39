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
from wattcast.crd import SourceRef, TrainingJobSpec
from wattcast.crd.fieldtypes import ContractModel


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


def check_spec(spec: ContractModel, *, source_names: frozenset[str]) -> None:
    """The configured sources (of a TrainingJob's or a FleetTrainingJob's spec, both with a
    `source`); raises a 422 ApiProblem."""
    source = getattr(spec, "source", None)
    name = source.name if isinstance(source, SourceRef) else None
    if name is not None and name not in source_names:
        known = ", ".join(sorted(source_names))
        raise invalid_field(
            "source.name",
            "body",
            f"unknown source {name!r}; the configured sources are: {known}",
            "unknown_source",
        )
