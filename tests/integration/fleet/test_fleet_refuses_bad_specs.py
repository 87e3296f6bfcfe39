"""The real API server refuses every bad fleet spec of the shared table with the generated
CRD's schema, blaming the field the table names (tests/support/refused_fleet_specs.py)."""

from __future__ import annotations

import json

import pytest
from fleetkit import Fleets, fleet_body
from kubernetes.client.exceptions import ApiException
from refused_fleet_specs import ACCEPTED_FLEET_SPECS, REFUSED_FLEET_SPECS, RefusedFleetSpec


@pytest.mark.parametrize("case", REFUSED_FLEET_SPECS, ids=[c.id for c in REFUSED_FLEET_SPECS])
def test_the_server_refuses_a_bad_fleet_spec(fleets: Fleets, case: RefusedFleetSpec) -> None:
    body = fleet_body(f"bad-{case.id}"[:63], [])
    body["spec"] = case.spec()
    with pytest.raises(ApiException) as refused:
        fleets.create(body)
    assert refused.value.status == 422, refused.value.body
    causes = json.loads(refused.value.body)["details"]["causes"]
    assert any(
        c.get("field") == case.blamed and case.words in c.get("message", "") for c in causes
    ), causes
    assert fleets.get(body["metadata"]["name"]) is None


@pytest.mark.parametrize("changes", ACCEPTED_FLEET_SPECS.values(), ids=list(ACCEPTED_FLEET_SPECS))
def test_the_server_accepts_the_specs_next_to_them(fleets: Fleets, changes: dict) -> None:
    name = "ok-" + str(abs(hash(json.dumps(changes, sort_keys=True))))[:12]
    body = fleet_body(name, [])
    body["spec"] = {**body["spec"], "meters": {"ids": ["m1"]}, **changes, "suspend": True}
    fleets.create(body)
    fleets.custom.delete_namespaced_custom_object(
        "wattcast.dev", "v1alpha1", "default", "fleettrainingjobs", name
    )
