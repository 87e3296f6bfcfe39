"""The bubblewrap command line: the pod's mount paths, and never a write to the host."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from wattcast.devtools.cluster.sandbox import bwrap_argv, resolve
from wattcast.devtools.cluster.volumes import Mount


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A host root: merged /usr, /var/run -> /run, and the folders a sandbox makes itself."""
    root = tmp_path / "root"
    for folder in ("usr/bin", "etc", "run/lock", "var/lib", "proc", "dev", "tmp/venv", "srv/repo"):
        (root / folder).mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    (root / "var" / "run").symlink_to("/run")
    (root / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    (root / "run" / "app.pid").write_text("1")
    (root / ".dockerenv").write_text("")
    return root


def triples(args: list[str], flag: str) -> list[tuple[str, str]]:
    return [(args[i + 1], args[i + 2]) for i, a in enumerate(args) if a == flag]


def argv(root: Path, mounts: list[Mount], **kwargs: object) -> list[str]:
    base = [Mount(Path("/k/pod/tmp"), "/tmp")]
    return bwrap_argv(["sh", "-c", "true"], base + mounts, hostname="pod-1", root=root, **kwargs)  # type: ignore[arg-type]


def test_the_root_is_the_hosts_top_level_entries_but_proc_dev_and_tmp(root: Path) -> None:
    args = argv(root, [])
    binds = triples(args, "--bind")
    assert (str(root / "usr"), "/usr") in binds
    assert (str(root / "etc"), "/etc") in binds
    assert (str(root / ".dockerenv"), "/.dockerenv") in binds
    assert ("usr/bin", "/bin") in triples(args, "--symlink")
    assert all(target not in ("/proc", "/dev") for _, target in binds)
    assert ("/k/pod/tmp", "/tmp") in binds
    assert args[args.index("--proc") + 1] == "/proc" and args[args.index("--dev") + 1] == "/dev"
    assert args[-4:] == ["--", "sh", "-c", "true"]
    assert args[:6] == [
        "bwrap",
        "--die-with-parent",
        "--new-session",
        "--unshare-uts",
        "--hostname",
        "pod-1",
    ]


def test_a_mount_point_missing_on_the_host_is_made_in_the_sandbox_only(root: Path) -> None:
    args = argv(
        root,
        [Mount(Path("/k/sa"), "/var/run/secrets/kubernetes.io/serviceaccount", read_only=True)],
    )
    # /var/run is /run on the host: /run is rebuilt from its entries, so bubblewrap makes
    # secrets/ inside its own tmpfs, not in the host's /run.
    assert ("/k/sa", "/run/secrets/kubernetes.io/serviceaccount") in triples(args, "--ro-bind")
    assert args[args.index("--dir") + 1] == "/run"
    binds = triples(args, "--bind")
    assert (str(root / "run"), "/run") not in binds
    assert (str(root / "run" / "lock"), "/run/lock") in binds
    assert (str(root / "run" / "app.pid"), "/run/app.pid") in binds
    assert (str(root / "var"), "/var") in binds


def test_mount_points_the_host_has_or_the_sandbox_makes_are_bound_directly(root: Path) -> None:
    args = argv(
        root,
        [
            Mount(Path("/k/models"), "/models"),
            Mount(Path("/k/hosts"), "/etc/hosts"),
            Mount(Path("/k/term"), "/dev/termination-log"),
        ],
    )
    assert "--dir" not in args
    binds = triples(args, "--bind")
    assert {
        ("/k/models", "/models"),
        ("/k/hosts", "/etc/hosts"),
        ("/k/term", "/dev/termination-log"),
    } <= set(binds)


def test_parents_are_mounted_before_children(root: Path) -> None:
    args = argv(root, [Mount(Path("/k/sub"), "/models/sub"), Mount(Path("/k/models"), "/models")])
    targets = [t for _, t in triples(args, "--bind")]
    assert targets.index("/models") < targets.index("/models/sub")
    assert targets.index("/tmp") < targets.index("/models/sub")


def test_paths_the_process_needs_under_tmp_stay_visible(root: Path) -> None:
    args = argv(root, [], keep=[Path("/tmp/venv"), Path("/srv/repo")])
    assert ("/tmp/venv", "/tmp/venv") in triples(args, "--ro-bind")
    assert ("/srv/repo", "/srv/repo") not in triples(args, "--ro-bind")


def test_a_sandbox_needs_its_tmp(root: Path) -> None:
    with pytest.raises(ValueError, match="/tmp"):
        bwrap_argv(["true"], [], hostname="p", root=root)


def test_the_info_fd_and_working_directory_are_passed(root: Path) -> None:
    args = argv(root, [], info_fd=7, cwd="/models")
    assert args[args.index("--info-fd") + 1] == "7"
    assert args[args.index("--chdir") + 1] == "/models"


def test_host_symlinks_are_resolved(root: Path) -> None:
    assert resolve(root, "/var/run/x/y") == PurePosixPath("/run/x/y")
    assert resolve(root, "/bin/sh") == PurePosixPath("/usr/bin/sh")
    assert resolve(root, "/models") == PurePosixPath("/models")
