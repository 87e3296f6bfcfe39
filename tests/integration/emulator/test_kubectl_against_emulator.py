"""The real kubectl (1.33, .venv/bin/kubectl) against the emulator: the everyday commands.

Plain ``kubectl apply`` validates on the server (the emulator's /openapi/v3 says it can);
``--validate=false`` (fieldValidation=Ignore) is exercised too, as older docs use it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wattcast.devtools.emulator.fixtures import RunningEmulator, repo_root, start_emulator

ROOT = repo_root()
KUBECTL = ROOT / ".venv" / "bin" / "kubectl"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
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

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (make setup)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = start_emulator(tmp_path_factory.mktemp("kubectl"), with_trainingjob_crd=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def kubectl(cluster: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    cache = tmp_path_factory.mktemp("kubectl-cache")
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig_path), "KUBECACHEDIR": str(cache)}

    def run(
        *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(KUBECTL), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    run("apply", "-f", str(ROOT / "crds" / "trainingjob.yaml"))
    run("wait", "--for", "condition=established", "--timeout=10s", "crd/trainingjobs.wattcast.dev")
    return run


def test_kubectl_applies_the_examples_idempotently_without_validation(kubectl: Kubectl) -> None:
    assert EXAMPLES, "examples/*.yaml missing"
    for path in EXAMPLES:
        first = kubectl("apply", "--validate=false", "-f", str(path))
        assert "created" in first.stdout or "unchanged" in first.stdout
        again = kubectl("apply", "--validate=false", "-f", str(path))
        assert "unchanged" in again.stdout


def test_kubectl_get_shows_printer_columns(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(ROOT / "examples" / "meter1-electricity.yaml"))
    out = kubectl("get", "tj").stdout.splitlines()
    assert out[0].split() == ["NAME", "METER", "TYPE", "PHASE", "PROGRESS", "AGE"]
    row = next(line.split() for line in out[1:] if line.startswith("meter1-electricity-2023"))
    assert row[1:3] == ["meter1", "electricity"]
    assert kubectl("get", "wattcast").stdout.splitlines()[0].startswith("NAME")


def test_kubectl_label_and_select(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(ROOT / "examples" / "meter1-electricity.yaml"))
    kubectl("label", "--overwrite", "tj", "meter1-electricity-2023", "team=grid")
    out = kubectl("get", "tj", "-l", "team=grid", "-o", "name").stdout.split()
    assert out == ["trainingjob.wattcast.dev/meter1-electricity-2023"]


def test_kubectl_patch_status_subresource_and_wait(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(ROOT / "examples" / "meter1-electricity.yaml"))
    kubectl(
        "patch",
        "tj",
        "meter1-electricity-2023",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Training","progress":55}}',
    )
    kubectl(
        "wait",
        "--for=jsonpath={.status.phase}=Training",
        "--timeout=10s",
        "tj/meter1-electricity-2023",
    )
    out = kubectl("get", "tj", "meter1-electricity-2023").stdout.splitlines()
    assert out[1].split()[3:5] == ["Training", "55"]
    ignored = kubectl(
        "patch",
        "tj",
        "meter1-electricity-2023",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Saving"}}',
    )
    assert "no change" in ignored.stdout  # the main endpoint ignores status


def test_kubectl_refuses_a_hostile_trainingjob_with_the_schema_message(kubectl: Kubectl) -> None:
    result = kubectl("apply", "-f", "-", stdin=HOSTILE, check=False)
    assert result.returncode != 0
    assert 'The TrainingJob "hostile" is invalid' in result.stderr
    assert "spec.meterId in body should match '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'" in (
        result.stderr
    )
    assert kubectl("get", "tj", "hostile", check=False).returncode != 0


def test_kubectl_delete_waits_until_gone(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(ROOT / "examples" / "water-meter-tuned.yaml"))
    out = kubectl("delete", "tj", "water-w-0042-2024h1", "--timeout=10s")
    assert 'trainingjob.wattcast.dev "water-w-0042-2024h1" deleted' in out.stdout
    assert "NotFound" in kubectl("get", "tj", "water-w-0042-2024h1", check=False).stderr


def test_kubectl_apply_of_a_builtin_is_a_strategic_merge(kubectl: Kubectl, tmp_path: Path) -> None:
    # kubectl patches built-in kinds with a strategic merge patch: a list item added by someone
    # else (here by `kubectl patch`) survives a re-apply, where a merge patch would drop it.
    sa = tmp_path / "sa.yaml"
    sa.write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: trainer}\n"
        "imagePullSecrets: [{name: a}]\n"
    )
    kubectl("apply", "-f", str(sa))
    kubectl("patch", "sa", "trainer", "-p", '{"imagePullSecrets":[{"name":"x"}]}')
    sa.write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: trainer}\n"
        "imagePullSecrets: [{name: a}, {name: b}]\n"
    )
    kubectl("apply", "-f", str(sa))
    names = kubectl("get", "sa", "trainer", "-o", "jsonpath={.imagePullSecrets[*].name}").stdout
    assert sorted(names.split()) == ["a", "b", "x"]


def test_kubectl_describe_shows_the_objects_events(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(ROOT / "examples" / "meter1-electricity.yaml"))
    uid = kubectl("get", "tj", "meter1-electricity-2023", "-o", "jsonpath={.metadata.uid}").stdout
    event = f"""\
apiVersion: v1
kind: Event
metadata: {{name: meter1-started, namespace: default}}
involvedObject:
  {{apiVersion: wattcast.dev/v1alpha1, kind: TrainingJob, name: meter1-electricity-2023,
    namespace: default, uid: {uid}}}
reason: JobCreated
message: created Job meter1-electricity-2023
type: Normal
"""
    kubectl("apply", "-f", "-", stdin=event)
    out = kubectl("describe", "tj", "meter1-electricity-2023").stdout
    assert "Meter Id:" in out and "meter1" in out
    assert "JobCreated" in out and "created Job meter1-electricity-2023" in out


def test_kubectl_get_all_namespaces_adds_the_namespace_column(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(ROOT / "examples" / "meter1-electricity.yaml"))
    header = kubectl("get", "tj", "-A").stdout.splitlines()[0].split()
    assert header[:2] == ["NAMESPACE", "NAME"]


def test_kubectl_apply_validates_on_the_server_without_flags(kubectl: Kubectl) -> None:
    # /openapi/v3 tells kubectl the server validates fields, so plain `kubectl apply` works and
    # sends fieldValidation=Strict: a typo in a TrainingJob is refused, as on a real cluster.
    ok = kubectl("apply", "-f", str(ROOT / "examples" / "meter1-electricity.yaml"))
    assert "meter1-electricity-2023" in ok.stdout
    typo = HOSTILE.replace("hostile", "typo").replace('"m1\\" |> drop()"', "m1") + "  sped: 1\n"
    refused = kubectl("apply", "-f", "-", stdin=typo, check=False)
    assert refused.returncode != 0
    assert 'strict decoding error: unknown field "spec.sped"' in refused.stderr


def test_kubectl_explain_reads_the_crd_schema(kubectl: Kubectl) -> None:
    out = kubectl("explain", "tj.spec.meterType").stdout
    assert "KIND:       TrainingJob" in out
    assert "meterType" in out
