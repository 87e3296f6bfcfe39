"""`wattcast-emulator` as a process of its own, for benchmarks and tools that want the server
out of their interpreter (no shared GIL, as in the demo)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from wattcast.devtools.emulator.fixtures import repo_root


def spawn_emulator(
    kubeconfig: Path, *, namespaces: Sequence[str] = (), log_level: str = "WARNING"
) -> tuple[subprocess.Popen[str], str]:
    """Start `wattcast-emulator` on a free port with the TrainingJob CRD; returns the process
    and its URL once it serves (it prints `serving <url>` when ready)."""
    command = [
        str(Path(sys.executable).with_name("wattcast-emulator")),
        "--port",
        "0",
        "--kubeconfig",
        str(kubeconfig),
        "--crd",
        str(repo_root() / "crds" / "trainingjob.yaml"),
        "--log-level",
        log_level,
    ]
    for namespace in namespaces:
        command += ["--namespace", namespace]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("serving "):
        proc.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return proc, line.split()[1]
