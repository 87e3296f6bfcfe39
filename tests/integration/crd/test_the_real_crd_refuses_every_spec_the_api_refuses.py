"""The REST API refuses exactly what the CRD refuses: every case of the shared table of
refused specs (tests/support/refused_trainingjob_specs.py, which the API's tests send to both
REST families) is refused by the real API server with the CRD's own words."""

from __future__ import annotations

from typing import Any

import pytest
from crd_support import refused
from refused_trainingjob_specs import ACCEPTED_SPECS, REFUSED_SPECS, VALID_SPEC, RefusedSpec
from testkit import TrainingJobs, tj_body


@pytest.mark.parametrize("case", REFUSED_SPECS, ids=[case.id for case in REFUSED_SPECS])
def test_the_real_crd_refuses_the_spec(shared_tjs: TrainingJobs, case: RefusedSpec) -> None:
    status = refused(shared_tjs.create, tj_body("tj-refused", spec=case.spec()))
    assert case.crd_says in status["message"], status["message"]


@pytest.mark.parametrize("changes", ACCEPTED_SPECS.values(), ids=list(ACCEPTED_SPECS))
def test_the_real_crd_accepts_the_specs_next_to_the_refused_ones(
    shared_tjs: TrainingJobs, changes: dict[str, Any]
) -> None:
    shared_tjs.create(tj_body("tj-accepted", spec={**VALID_SPEC, **changes}), dry_run="All")
