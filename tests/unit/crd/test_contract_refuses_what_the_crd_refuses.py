"""The contract's models (what the REST API validates with) give the CRD's verdict on every spec
of the shared table: each refused spec is refused, naming its field; each accepted one is
accepted. That the real API server gives the same verdicts with the generated CRD is
tests/integration/crd/test_crd_refuses_hostile_trainingjobs.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from refused_specs import ACCEPTED_SPECS, REFUSED_SPECS, VALID_SPEC, RefusedSpec

from wattcast.crd import TrainingJobSpec
from wattcast.crd.quantities import quantity_value


@pytest.mark.parametrize("case", REFUSED_SPECS, ids=[case.id for case in REFUSED_SPECS])
def test_the_contract_refuses_every_spec_the_crd_refuses(case: RefusedSpec) -> None:
    with pytest.raises(ValidationError) as refused:
        TrainingJobSpec.model_validate(case.spec())
    # pydantic's locations use the aliases (camelCase), as the table does; "" is the spec itself.
    fields = {".".join(str(part) for part in error["loc"]) for error in refused.value.errors()}
    assert case.field in fields, fields


@pytest.mark.parametrize("changes", ACCEPTED_SPECS.values(), ids=list(ACCEPTED_SPECS))
def test_both_accept_the_specs_next_to_the_refused_ones(changes: dict[str, Any]) -> None:
    spec = {**VALID_SPEC, **changes}
    TrainingJobSpec.model_validate(spec)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("4Gi", Decimal(4 * 2**30)),
        ("1.5Ki", Decimal(1536)),
        ("2G", Decimal(2 * 10**9)),
        ("1e3", Decimal(1000)),
        ("1E-3", Decimal("0.001")),
        ("100n", Decimal("0.0000001")),
        (".5", Decimal("0.5")),
        ("1.", Decimal(1)),
    ],
)
def test_quantities_are_read_as_kubernetes_reads_them(text: str, value: Decimal) -> None:
    assert quantity_value(text) == value


@pytest.mark.parametrize("text", ["-1", "+1", "lots", "1ki", "1e1.5", "1e100", "", "1 Gi"])
def test_what_is_not_a_quantity_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        quantity_value(text)
