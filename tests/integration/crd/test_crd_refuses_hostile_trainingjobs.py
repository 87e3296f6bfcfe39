"""The real kube-apiserver refuses every hostile or malformed TrainingJob with the generated
CRD's schema or one of its CEL rules, with the cause `kubectl apply` shows, and stores nothing;
it accepts the specs next to them.

The cases are the one shared table of tests/support/refused_specs.py: the contract's and the
REST API's tests refuse every one of them too.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from crd_support import GROUP, refused
from refused_specs import ACCEPTED_SPECS, REFUSED_SPECS, RULES_NOT_CHECKED, VALID_SPEC, RefusedSpec
from testkit import TrainingJobs, tj_body

from wattcast.devtools.processes import repo_root

EXAMPLES = sorted((repo_root() / "examples").glob("*.yaml"))


@pytest.mark.parametrize("case", REFUSED_SPECS, ids=[case.id for case in REFUSED_SPECS])
def test_a_refused_spec_is_refused_with_its_cause(
    shared_tjs: TrainingJobs, case: RefusedSpec
) -> None:
    name = f"refused-{uuid.uuid4().hex[:8]}"
    status = refused(shared_tjs.create, tj_body(name, case.spec()))
    assert status["reason"] == "Invalid"
    assert status["details"]["name"] == name
    assert status["details"]["group"] == GROUP
    assert status["details"]["kind"] == "TrainingJob"
    first, *others = status["details"]["causes"]
    assert first == case.cause, first
    # Beyond its cause: only more words on the same field, and the note that the CEL rules
    # did not run.
    assert all(c == RULES_NOT_CHECKED or c["field"] == case.blamed for c in others), others
    prefix = f'TrainingJob.wattcast.dev "{name}" is invalid: '
    if not others:
        assert status["message"] == f"{prefix}{case.blamed}: {case.message}"
    else:
        assert status["message"].startswith(f"{prefix}[{case.blamed}: {case.message}, ")
    assert name not in shared_tjs.names()


def test_the_table_has_one_row_per_case() -> None:
    ids = [case.id for case in REFUSED_SPECS]
    assert len(ids) == len(set(ids))
    assert all(case.spec() != VALID_SPEC for case in REFUSED_SPECS)


@pytest.mark.parametrize("changes", ACCEPTED_SPECS.values(), ids=list(ACCEPTED_SPECS))
def test_the_specs_next_to_the_refused_ones_are_accepted(
    shared_tjs: TrainingJobs, changes: dict[str, Any]
) -> None:
    shared_tjs.create(tj_body("tj-accepted", spec={**VALID_SPEC, **changes}), dry_run="All")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_is_accepted(shared_tjs: TrainingJobs, path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        created = shared_tjs.create(document, field_validation="Strict")
        assert created["spec"]["meterId"] == document["spec"]["meterId"]


def test_a_name_longer_than_a_job_name_is_refused(shared_tjs: TrainingJobs) -> None:
    name = "a" * 64
    status = refused(shared_tjs.create, tj_body(name))
    assert status["message"] == (
        f'TrainingJob.wattcast.dev "{name}" is invalid: <nil>: Invalid value: "object": '
        "metadata.name must be at most 63 characters (the Job takes the same name)"
    )


def test_a_url_in_a_source_never_reaches_the_stored_object(shared_tjs: TrainingJobs) -> None:
    """A TrainingJob cannot name an arbitrary host: the unknown field is pruned, with a
    warning, so the operator never sees it (and the REST API refuses it outright)."""
    body = tj_body(
        "url-in-source", source={"name": "default", "url": "http://attacker.example:8086"}
    )
    created, _, headers = shared_tjs.objects.create_namespaced_custom_object_with_http_info(
        GROUP, "v1alpha1", shared_tjs.namespace, "trainingjobs", body
    )
    assert created["spec"]["source"] == {"name": "default"}
    assert headers["Warning"] == '299 - "unknown field \\"spec.source.url\\""'
    assert shared_tjs.get("url-in-source")["spec"]["source"] == {"name": "default"}


def test_an_unknown_field_is_refused_under_strict_field_validation(
    shared_tjs: TrainingJobs,
) -> None:
    body: dict[str, Any] = tj_body("typo", sped=1)
    status = refused(lambda: shared_tjs.create(body, field_validation="Strict"), code=400)
    assert status["message"] == (
        'TrainingJob in version "v1alpha1" cannot be handled as a TrainingJob: strict decoding '
        'error: unknown field "spec.sped"'
    )
    assert "typo" not in shared_tjs.names()
