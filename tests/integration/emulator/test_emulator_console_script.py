"""`wattcast-emulator` serves, writes its kubeconfig, preloads, and stops on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from wattcast.devtools.emulator.fixtures import repo_root

EXE = Path(sys.executable).with_name("wattcast-emulator")
CRD = repo_root() / "crds" / "trainingjob.yaml"


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [str(EXE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("serving http://127.0.0.1:"), line
    return proc, line.split()[1]


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _out, err = proc.communicate(timeout=20)
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_console_script_serves_until_signalled(tmp_path: Path, sig: signal.Signals) -> None:
    kubeconfig = tmp_path / "kc" / "config"
    proc, url = _start(
        "--port", "0", "--kubeconfig", str(kubeconfig), "--crd", str(CRD), "--namespace", "extra"
    )
    try:
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["current-context"] == "wattcast-emulator"
        assert config["clusters"][0]["cluster"]["server"] == url
        assert config["users"][0]["user"]["token"]
        names = [
            n["metadata"]["name"]
            for n in requests.get(f"{url}/api/v1/namespaces", timeout=10).json()["items"]
        ]
        assert names == ["default", "extra"]
        assert requests.get(f"{url}/apis/wattcast.dev/v1alpha1", timeout=10).status_code == 200
    finally:
        proc.send_signal(sig)
        code, _ = _finish(proc)
    assert code == 0


def test_console_script_refuses_a_file_without_a_crd(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-crd.yaml"
    bogus.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    proc = subprocess.run(
        [str(EXE), "--port", "0", "--kubeconfig", str(tmp_path / "kc"), "--crd", str(bogus)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "no CustomResourceDefinition in this file" in proc.stderr


def test_console_script_refuses_an_invalid_crd(tmp_path: Path) -> None:
    crd = yaml.safe_load(CRD.read_text())
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["x-kubernetes-validations"][0][
        "rule"
    ] = "self.metadata.name.size() <="
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(crd))
    proc = subprocess.run(
        [str(EXE), "--port", "0", "--kubeconfig", str(tmp_path / "kc"), "--crd", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "x-kubernetes-validations[0].rule" in proc.stderr
