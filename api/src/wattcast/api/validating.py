"""Checks of a submission beyond field shapes: the CRD's CEL rules, and configured sources.

The contract's pydantic models check every field; the rules between fields (end after start,
at most 10 years) live in the CRD as CEL (`x-kubernetes-validations`), which a real API server
enforces but pydantic does not. The API checks them first, so a bad request gets a field-level
422 before anything reaches Kubernetes, and an unknown source is refused here too (only the
operator and the API know the configured names).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from wattcast.api.errors import field_errors, invalid, invalid_field
from wattcast.crd import TrainingJobSpec

# The CRD's MAX_RANGE_CEL_DURATION ("87660h"): 10 years of 365.25 days.
MAX_RANGE = timedelta(hours=87660)


def build_spec(
    data: Mapping[str, Any], *, rename: Mapping[str, str] | None = None
) -> TrainingJobSpec:
    """The contract's spec from Python-named fields; errors name the request's own fields."""
    try:
        return TrainingJobSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise invalid(
            field_errors(exc.errors(include_input=False), prefix=("body",), rename=rename)
        ) from None


def check_spec(
    spec: TrainingJobSpec,
    *,
    source_names: frozenset[str],
    start_field: str = "start",
    end_field: str = "end",
) -> None:
    """The CRD's cross-field rules and the configured sources; raises a 422 ApiProblem."""
    if spec.end <= spec.start:
        raise invalid_field(
            end_field,
            "body",
            f"must be after {start_field} (the range [{start_field}, {end_field}) is empty)",
            "range_empty",
        )
    if spec.end - spec.start > MAX_RANGE:
        raise invalid_field(
            end_field,
            "body",
            f"the range from {start_field} to {end_field} must be at most 10 years",
            "range_too_long",
        )
    name = spec.source.name if spec.source is not None else None
    if name is not None and name not in source_names:
        known = ", ".join(sorted(source_names))
        raise invalid_field(
            "source.name",
            "body",
            f"unknown source {name!r}; the configured sources are: {known}",
            "unknown_source",
        )
