"""The bubblewrap command line that shows a process its pod's mount paths.

The sandbox's root is bubblewrap's own tmpfs, filled with the host's top-level entries (each
folder bound, each symlink recreated) except /proc, /dev and /tmp, which are the sandbox's own
(/tmp is a folder of the pod's when the pod mounts none). A mount point the host lacks would
make bubblewrap create it on the host if its parent were a bound host folder; so every host
folder on the way to such a mount point is rebuilt in the tmpfs from its own entries instead,
and the new mount point lives in the tmpfs only. The host is never written.

The process gets a session of its own (`--new-session`: its process group is what the kubelet
signals, bubblewrap itself is not signalled) and dies with the kubelet (`--die-with-parent`).
Its hostname is the pod's name. Everything else is the host's: user, network, processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Final

from wattcast.devtools.cluster.volumes import Mount

BWRAP: Final = "bwrap"
# Top-level folders the sandbox makes itself (never bound from the host).
OWN_TOP_LEVEL: Final = ("proc", "dev", "tmp")
MAX_SYMLINKS: Final = 40


def resolve(root: Path, path: str) -> PurePosixPath:
    """`path` with the host's symlinks resolved (missing trailing parts kept as they are)."""
    parts = list(PurePosixPath(path).parts[1:])
    current = PurePosixPath("/")
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        host = root / str(candidate).lstrip("/")
        if host.is_symlink() and hops < MAX_SYMLINKS:
            hops += 1
            link = PurePosixPath(str(host.readlink()))
            base = PurePosixPath("/") if link.is_absolute() else current
            parts = list((base / link).parts[1:]) + parts
            current = PurePosixPath("/")
            continue
        current = candidate
    return current


def _own(target: PurePosixPath) -> bool:
    """Whether `target` lies in a folder the sandbox makes itself (/proc, /dev, /tmp)."""
    return len(target.parts) > 1 and target.parts[1] in OWN_TOP_LEVEL


def _rebuilt(root: Path, targets: Sequence[PurePosixPath]) -> set[PurePosixPath]:
    """Host folders to rebuild in the tmpfs: those on the way to a mount point they lack."""
    rebuilt = {PurePosixPath("/")}
    for target in targets:
        if _own(target) or (root / str(target).lstrip("/")).exists():
            continue
        for ancestor in target.parents:
            host = root / str(ancestor).lstrip("/")
            if host.is_dir() and not host.is_symlink():
                rebuilt.add(ancestor)
    return rebuilt


def _host_entries(root: Path, folder: PurePosixPath, rebuilt: set[PurePosixPath]) -> list[str]:
    args: list[str] = []
    host_folder = root / str(folder).lstrip("/")
    for entry in sorted(host_folder.iterdir(), key=lambda p: p.name):
        inside = folder / entry.name
        if folder == PurePosixPath("/") and entry.name in OWN_TOP_LEVEL:
            continue
        if entry.is_symlink():
            args += ["--symlink", str(entry.readlink()), str(inside)]
        elif inside in rebuilt:
            args += ["--dir", str(inside)]
            args += _host_entries(root, inside, rebuilt)
        elif entry.is_dir() or entry.is_file():
            args += ["--bind", str(entry), str(inside)]
    return args


def bwrap_argv(
    command: Sequence[str],
    mounts: Sequence[Mount],
    *,
    hostname: str,
    cwd: str = "/",
    info_fd: int | None = None,
    root: Path = Path("/"),
    keep: Sequence[Path] = (),
) -> list[str]:
    """The bubblewrap argv running `command` with `mounts` (one must be at /tmp).

    `keep` are host paths the process needs at their own path although they lie in a folder
    the sandbox replaces (a virtual environment under /tmp, say).
    """
    resolved = [
        (m, m.target if _own(PurePosixPath(m.target)) else str(resolve(root, m.target)))
        for m in mounts
    ]
    if not any(target == "/tmp" for _, target in resolved):  # noqa: S108 - inside the sandbox
        raise ValueError("the sandbox needs a mount at /tmp")
    args = [BWRAP, "--die-with-parent", "--new-session", "--unshare-uts", "--hostname", hostname]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    args += _host_entries(
        root, PurePosixPath("/"), _rebuilt(root, [PurePosixPath(t) for _, t in resolved])
    )
    args += ["--proc", "/proc", "--dev", "/dev"]
    binds = [
        ("--ro-bind" if m.read_only else "--bind", str(m.source), target) for m, target in resolved
    ]
    binds += [("--ro-bind", str(p), str(p)) for p in keep if _own(PurePosixPath(str(p)))]
    # Parents before children, so a mount inside another lands inside it.
    for flag, source, target in sorted(binds, key=lambda b: len(PurePosixPath(b[2]).parts)):
        args += [flag, source, target]
    args += ["--chdir", cwd, "--", *command]
    return args
