"""`python -m wattcast.devtools.localrun`: runs Jobs until SIGTERM, refuses bad settings."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from localrun_support import Cluster, job_body, unique

from wattcast.devtools.emulator.fixtures import RunningEmulator


def test_module_runs_jobs_until_terminated(
    fresh_emulator: Callable[..., RunningEmulator], tmp_path: Path
) -> None:
    server = fresh_emulator(with_trainingjob_crd=False)
    cluster = Cluster(server.kubeconfig_path)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wattcast.devtools.localrun",
            "--kubeconfig",
            str(server.kubeconfig_path),
            "--models-dir",
            str(tmp_path / "models"),
            "--workdir",
            str(tmp_path / "work"),
            "--capacity",
            "1",
            "--env",
            "GREETING=hello",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "local runner ready (capacity 1" in process.stdout.readline()
        name = unique("cli")
        code = (
            "import os, pathlib\n"
            "pathlib.Path(os.environ['WATTCAST_MODELS_DIR'], 'out').write_text("
            "os.environ['GREETING'])\n"
        )
        cluster.create_job("default", job_body(name, code))
        cluster.wait_condition("default", name, "Complete")
        assert (tmp_path / "models" / "out").read_text() == "hello"
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        cluster.close()
    assert process.returncode == 0, err


def test_bad_settings_exit_2(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "wattcast.devtools.localrun",
            "--kubeconfig",
            str(kubeconfig),
            "--models-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 2
    assert "no kubeconfig" in missing.stderr
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    zero = subprocess.run(
        [
            sys.executable,
            "-m",
            "wattcast.devtools.localrun",
            "--kubeconfig",
            str(kubeconfig),
            "--models-dir",
            str(tmp_path),
            "--capacity",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert zero.returncode == 2
    assert "capacity" in zero.stderr
    unusable = subprocess.run(
        [
            sys.executable,
            "-m",
            "wattcast.devtools.localrun",
            "--kubeconfig",
            str(kubeconfig),
            "--models-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unusable.returncode == 2
    assert "is not a usable kubeconfig" in unusable.stderr
    bad_env = subprocess.run(
        [
            sys.executable,
            "-m",
            "wattcast.devtools.localrun",
            "--kubeconfig",
            str(kubeconfig),
            "--models-dir",
            str(tmp_path),
            "--env",
            "NOEQUALS",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad_env.returncode == 2
    assert "expected KEY=VALUE" in bad_env.stderr
