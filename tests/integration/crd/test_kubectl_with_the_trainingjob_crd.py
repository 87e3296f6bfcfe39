"""The real kubectl (.venv/bin/kubectl) against the real API server with our CRD: the examples
apply as they are, and `kubectl get`, field selectors, `explain`, the short name and the
category work as docs/ and the README tell users they do."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from crd_support import run_kubectl

from wattcast.devtools.processes import repo_root

ROOT = repo_root()
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
METER1 = ROOT / "examples" / "meter1-electricity.yaml"
WATER = ROOT / "examples" / "water-meter-tuned.yaml"
HOSTILE = """\
apiVersion: wattcast.dev/v1alpha1
kind: TrainingJob
metadata:
  name: hostile
spec:
  meterId: "m1\\" |> drop()"
  meterType: electricity
  start: "2023-01-01T00:00:00Z"
  end: "2024-01-01T00:00:00Z"
"""


class Kubectl:
    """kubectl in one namespace; `__call__` fails the test on a non-zero exit."""

    def __init__(self, kubeconfig: Path, namespace: str, cache: Path) -> None:
        self.kubeconfig, self.namespace, self.cache = kubeconfig, namespace, cache

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_kubectl(
            self.kubeconfig, "-n", self.namespace, *args, stdin=stdin, cache=self.cache
        )

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done.stdout


@pytest.fixture
def kubectl(kubeconfig: Path, namespace: str, tmp_path: Path) -> Kubectl:
    return Kubectl(kubeconfig, namespace, tmp_path / "kube-cache")


def rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


def test_the_examples_apply_as_they_are_and_idempotently(kubectl: Kubectl) -> None:
    assert EXAMPLES, "examples/*.yaml missing"
    for path in EXAMPLES:
        # Plain `kubectl apply` validates fields on the server (Strict): a typo would fail.
        assert "created" in kubectl("apply", "-f", str(path))
        assert "unchanged" in kubectl("apply", "-f", str(path))
        assert "serverside-applied" in kubectl("apply", "--server-side", "-f", str(path))
    names = kubectl("get", "tj", "-o", "name").split()
    assert len(names) == len(EXAMPLES)


def test_an_unknown_field_is_refused_by_plain_kubectl_apply(kubectl: Kubectl) -> None:
    typo = METER1.read_text() + "  epochz: 3\n"
    refused = kubectl.run("apply", "-f", "-", stdin=typo)
    assert refused.returncode != 0
    assert 'strict decoding error: unknown field "spec.epochz"' in refused.stderr
    assert kubectl("get", "tj", "-o", "name") == ""


def test_a_hostile_trainingjob_is_refused_with_the_schemas_message(kubectl: Kubectl) -> None:
    refused = kubectl.run("apply", "-f", "-", stdin=HOSTILE)
    assert refused.returncode != 0
    assert refused.stderr.strip().endswith(
        'The TrainingJob "hostile" is invalid: spec.meterId: Invalid value: "m1\\" |> drop()": '
        "spec.meterId in body should match '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'"
    )
    assert "NotFound" in kubectl.run("get", "tj", "hostile").stderr


def test_kubectl_get_shows_the_printer_columns(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(METER1))
    table = rows(kubectl("get", "tj"))
    assert table[0] == ["NAME", "METER", "TYPE", "PHASE", "PROGRESS", "AGE"]
    assert table[1][:3] == ["meter1-electricity-2023", "meter1", "electricity"]
    kubectl(
        "patch",
        "tj",
        "meter1-electricity-2023",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Training","progress":55,"message":"epoch 3/20",'
        '"jobName":"meter1-electricity-2023"}}',
    )
    kubectl(
        "wait",
        "--for=jsonpath={.status.phase}=Training",
        "--timeout=30s",
        "tj/meter1-electricity-2023",
    )
    table = rows(kubectl("get", "tj"))
    assert table[1][3:5] == ["Training", "55"]
    wide = kubectl("get", "tj", "-o", "wide").splitlines()
    assert wide[0].split() == [
        "NAME", "METER", "TYPE", "PHASE", "PROGRESS", "AGE", "MESSAGE", "JOB"
    ]  # fmt: skip
    assert "epoch 3/20" in wide[1]
    assert wide[1].split()[-1] == "meter1-electricity-2023"


def test_field_selectors_find_trainingjobs_by_meter_and_phase(kubectl: Kubectl) -> None:
    for path in EXAMPLES:
        kubectl("apply", "-f", str(path))
    kubectl(
        "patch",
        "tj",
        "water-w-0042-2024h1",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Training"}}',
    )

    def names(selector: str) -> list[str]:
        return sorted(kubectl("get", "tj", "--field-selector", selector, "-o", "name").split())

    assert names("spec.meterId=meter1") == ["trainingjob.wattcast.dev/meter1-electricity-2023"]
    # A meter id that is not a label value (":") is still found by its field.
    assert names("spec.meterId=W-0042:north.zone_3") == [
        "trainingjob.wattcast.dev/water-w-0042-2024h1"
    ]
    assert names("spec.meterType=water") == ["trainingjob.wattcast.dev/water-w-0042-2024h1"]
    assert names("spec.meterType!=water") == [
        "trainingjob.wattcast.dev/meter1-electricity-2023",
        "trainingjob.wattcast.dev/meter7-electricity-kueue",
    ]
    assert names("status.phase=Training") == ["trainingjob.wattcast.dev/water-w-0042-2024h1"]
    assert names("spec.meterType=electricity,status.phase=Training") == []
    refused = kubectl.run("get", "tj", "--field-selector", "spec.start=2023-01-01T00:00:00Z")
    assert refused.returncode != 0
    assert "field label not supported: spec.start" in refused.stderr


def test_the_short_name_and_the_category_reach_trainingjobs(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(WATER))
    assert kubectl("get", "tj", "-o", "name").split() == [
        "trainingjob.wattcast.dev/water-w-0042-2024h1"
    ]
    assert kubectl("get", "wattcast", "-o", "name").split() == [
        "trainingjob.wattcast.dev/water-w-0042-2024h1"
    ]
    resources = rows(kubectl("api-resources", "--api-group=wattcast.dev", "-o", "wide"))
    assert resources[0][:6] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS"]
    by_name = {row[0]: row for row in resources[1:]}
    assert by_name["trainingjobs"][:5] == [
        "trainingjobs",
        "tj",
        "wattcast.dev/v1alpha1",
        "true",
        "TrainingJob",
    ]
    assert by_name["trainingjobs"][-1] == "wattcast"
    # The fleet kind shares the group and the category.
    assert by_name["fleettrainingjobs"][:5] == [
        "fleettrainingjobs",
        "ftj",
        "wattcast.dev/v1alpha1",
        "true",
        "FleetTrainingJob",
    ]
    assert by_name["fleettrainingjobs"][-1] == "wattcast"


def test_kubectl_explain_reads_the_crds_descriptions(kubectl: Kubectl) -> None:
    out = kubectl("explain", "trainingjob.spec")
    assert "KIND:       TrainingJob" in out
    assert "GROUP:      wattcast.dev" in out
    assert "Immutable after creation except `suspend`." in out
    assert "meterId\t<string> -required-" in out
    assert "suspend\t<boolean>" in out
    field = kubectl("explain", "tj.spec.meterType")
    assert "electricity or water" in field
    assert "ENUM:" in field and "water" in field
