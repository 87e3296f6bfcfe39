"""The REST API refuses every spec the CRD refuses (the shared table of
tests/support/refused_specs.py), with a 422 that names the field, and creates nothing.

Both families are tried: `POST /v1/trainingjobs` with each spec, and the seed's
`POST /trainmodel/v2/` with each case its four fields can carry.
"""

from __future__ import annotations

import httpx
from refused_specs import ACCEPTED_SPECS, REFUSED_SPECS, VALID_SPEC
from testkit import TrainingJobs


def _fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in response.json().get("errors") or []}


def test_every_crd_refused_spec_gets_422_and_creates_nothing(
    api: httpx.Client, cluster: TrainingJobs
) -> None:
    wrong = []
    for case in REFUSED_SPECS:
        response = api.post("/v1/trainingjobs", json=case.spec())
        field = case.field or "body"
        if response.status_code != 422 or field not in _fields(response):
            wrong.append(f"/v1 {case.id}: {response.status_code} {response.text[:300]}")
        if case.seed:
            response = api.post("/trainmodel/v2/", json=case.seed_body())
            field = case.seed_field or "body"
            if response.status_code != 422 or field not in _fields(response):
                wrong.append(f"seed {case.id}: {response.status_code} {response.text[:300]}")
    assert wrong == []
    assert cluster.items() == []


def test_the_specs_next_to_the_refused_ones_are_accepted(
    api: httpx.Client, cluster: TrainingJobs
) -> None:
    for changes in ACCEPTED_SPECS.values():
        response = api.post("/v1/trainingjobs", json={**VALID_SPEC, **changes})
        assert response.status_code == 201, response.text
    assert len(cluster.items()) == len(ACCEPTED_SPECS)


def test_mixed_offsets_are_stored_in_utc(api: httpx.Client, cluster: TrainingJobs) -> None:
    body = {**VALID_SPEC, "start": "2023-01-01T01:00:00+01:00", "end": "2023-06-01T00:00:00-02:00"}
    created = api.post("/v1/trainingjobs", json=body)
    assert created.status_code == 201, created.text
    (stored,) = cluster.items()
    assert stored["spec"]["start"] == "2023-01-01T00:00:00Z"
    assert stored["spec"]["end"] == "2023-06-01T02:00:00Z"
