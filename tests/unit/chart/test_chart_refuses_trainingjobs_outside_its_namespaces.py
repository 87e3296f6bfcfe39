"""A TrainingJob outside the operator's namespaces is refused where it is created (issue 13,
item 3): the chart renders a ValidatingAdmissionPolicy that the API server applies to every
create, `kubectl apply` included, with a message naming the namespaces the operator watches;
and a release whose API would serve a namespace the operator does not watch fails to render.
(The policy's effect on the real API server: tests/integration/chart.)"""

from __future__ import annotations

from typing import Any

import pytest
from chart_render import NAMESPACE, RELEASE, one, render, render_text

POLICY = f"{RELEASE}-trainingjob-namespaces"


def policy_of(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        o
        for o in render(values)
        if o["kind"] in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
    ]


def test_the_policy_allows_exactly_the_training_namespaces() -> None:
    objects = policy_of({"trainingNamespaces": ["energy", "water"]})
    policy = one(objects, "ValidatingAdmissionPolicy", POLICY)
    binding = one(objects, "ValidatingAdmissionPolicyBinding", POLICY)
    assert binding["spec"] == {"policyName": POLICY, "validationActions": ["Deny"]}
    assert policy["spec"]["failurePolicy"] == "Fail"
    (rule,) = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rule == {
        "apiGroups": ["wattcast.dev"],
        "apiVersions": ["*"],
        "operations": ["CREATE"],
        "resources": ["trainingjobs"],
    }
    (validation,) = policy["spec"]["validations"]
    assert validation["expression"] == 'request.namespace in ["energy","water"]'
    assert validation["reason"] == "Forbidden"
    assert validation["message"].startswith(
        f"TrainingJobs run only in the namespaces energy, water: the wattcast operator "
        f"(release {RELEASE} in {NAMESPACE}) watches no other."
    )


def test_by_default_the_release_namespace_is_the_one_allowed() -> None:
    policy = one(policy_of({}), "ValidatingAdmissionPolicy", POLICY)
    assert policy["spec"]["validations"][0]["expression"] == f'request.namespace in ["{NAMESPACE}"]'


@pytest.mark.parametrize(
    "values",
    [{"operator": {"clusterWide": True}}, {"operator": {"refuseOtherNamespaces": False}}],
    ids=["cluster-wide", "turned-off"],
)
def test_no_policy_where_every_namespace_is_watched_or_it_is_turned_off(
    values: dict[str, Any],
) -> None:
    assert policy_of(values) == []


def test_api_namespaces_the_operator_does_not_watch_fail_the_render() -> None:
    done = render_text(
        {"trainingNamespaces": ["energy"], "api": {"namespaces": ["energy", "water"]}}
    )
    assert done.returncode != 0
    assert 'api.namespaces: the operator does not watch "water"' in done.stderr
    assert "Add it to trainingNamespaces, or set operator.clusterWide=true" in done.stderr


def test_api_namespaces_within_the_watched_ones_or_cluster_wide_render() -> None:
    assert render({"trainingNamespaces": ["energy", "water"], "api": {"namespaces": ["water"]}})
    wide = {"operator": {"clusterWide": True}, "api": {"namespaces": ["anywhere"]}}
    assert render(wide)
