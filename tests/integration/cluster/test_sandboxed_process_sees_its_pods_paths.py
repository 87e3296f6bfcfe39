"""A container process in bubblewrap: the pod's paths, its exit code, its stop. No API server."""

from __future__ import annotations

import os
import time
from pathlib import Path

from testkit import wait_for

from wattcast.devtools.cluster.processes import ContainerProcess, termination_message
from wattcast.devtools.cluster.sandbox import bwrap_argv
from wattcast.devtools.cluster.volumes import Mount


def living_members(group: int) -> list[int]:
    """Processes of the process group that are not zombies (a zombie waits for its reaper)."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if entry.name.isdigit() and int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def start(tmp_path: Path, script: str, mounts: list[Mount] | None = None) -> ContainerProcess:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    (tmp_path / "term").touch()
    base = [Mount(tmp_path / "tmp", "/tmp"), Mount(tmp_path / "term", "/dev/termination-log")]
    all_mounts = base + (mounts or [])
    process = ContainerProcess(
        lambda fd: bwrap_argv(["sh", "-c", script], all_mounts, hostname="pod-1", info_fd=fd),
        env={"PATH": os.environ["PATH"], "GREETING": "hi"},
        log_path=tmp_path / "logs" / "ns_pod-1.log",
    )
    process.start()
    return process


def test_the_process_sees_the_pods_mounts_and_the_host_gains_nothing(tmp_path: Path) -> None:
    models = tmp_path / "claim"
    models.mkdir()
    target = f"/wattcast-test-{os.getpid()}/models"
    script = (
        f"echo $GREETING > {target}/out; echo scratch > /tmp/x; hostname; "
        "echo 'all done' > /dev/termination-log; exit 3"
    )
    process = start(tmp_path, script, [Mount(models, target)])
    assert process.wait(30) == 3
    assert (models / "out").read_text() == "hi\n"
    assert (tmp_path / "tmp" / "x").read_text() == "scratch\n"
    assert not Path(target).parent.exists()
    assert "pod-1" in process.log_path.read_text()
    assert termination_message(tmp_path / "term", "File", 3, process.log_path) == "all done\n"


def test_a_read_only_mount_cannot_be_written(tmp_path: Path) -> None:
    data = tmp_path / "ro"
    data.mkdir()
    process = start(tmp_path, "touch /data/x", [Mount(data, "/data", read_only=True)])
    assert process.wait(30) != 0
    assert not (data / "x").exists()


def ready(process: ContainerProcess) -> bool:
    """The script said `ready` (its trap is set), and it still runs."""
    return "ready" in process.log_path.read_text() and process.poll() is None


def test_stop_sends_sigterm_to_the_whole_group_then_sigkill(tmp_path: Path) -> None:
    process = start(tmp_path, "trap 'echo term; exit 0' TERM; sleep 300 & echo ready; wait")
    wait_for("the script's trap", lambda: ready(process))
    group = process.pid
    assert group is not None
    assert process.stop(5) == 0
    assert "term" in process.log_path.read_text()
    # The shell's child went with the group.
    wait_for("the group to go", lambda: living_members(group) == [], 10)

    stubborn = start(tmp_path, "trap '' TERM; echo ready; while true; do sleep 0.1; done")
    wait_for("the stubborn script's trap", lambda: ready(stubborn))
    began = time.monotonic()
    assert stubborn.stop(1) == 137
    assert time.monotonic() - began < 5


def test_the_log_tail_of_this_run_is_the_fallback_message(tmp_path: Path) -> None:
    first = start(tmp_path, "echo first run; exit 0")
    assert first.wait(30) == 0
    second = start(tmp_path, "echo boom >&2; exit 1")
    assert second.wait(30) == 1
    message = termination_message(
        tmp_path / "term", "FallbackToLogsOnError", 1, second.log_path, second.log_offset
    )
    assert message == "boom"
    assert (
        termination_message(tmp_path / "term", "File", 1, second.log_path, second.log_offset)
        is None
    )
