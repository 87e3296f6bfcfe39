"""One container run: a sandboxed process, its log, its exit code and termination message.

The process runs in a session of its own inside bubblewrap; `stop` signals that session's
process group (SIGTERM, the grace period, then SIGKILL), which reaches every child it started.
Its stdout and stderr are appended to the pod's log file. Exit codes are a container runtime's:
128 + the signal when killed. `termination_message` reads the file left at the container's
termination message path (at most 4096 bytes, as the kubelet reads), falling back to the tail
of this run's log under `FallbackToLogsOnError` when the container failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

MAX_MESSAGE_BYTES: Final = 4096
# FallbackToLogsOnError takes the last 80 lines or 2048 bytes of the log, whichever is less.
FALLBACK_LINES: Final = 80
FALLBACK_BYTES: Final = 2048


def log_tail(log_path: Path, offset: int = 0) -> str:
    """The end of the log written since `offset`: 80 lines or 2048 bytes at most."""
    try:
        with log_path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(offset, size - FALLBACK_BYTES))
            data = log.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()[-FALLBACK_LINES:]
    return "\n".join(lines)


def termination_message(
    termination_log: Path, policy: str, exit_code: int, log_path: Path, log_offset: int = 0
) -> str | None:
    """What the container left at its termination message path, or its log's tail."""
    try:
        with termination_log.open("rb") as file:
            text = file.read(MAX_MESSAGE_BYTES)
    except OSError:
        text = b""
    if text.strip():
        return text.decode("utf-8", errors="replace")
    if policy == "FallbackToLogsOnError" and exit_code != 0:
        return log_tail(log_path, log_offset) or None
    return None


class ContainerProcess:
    """A container's process inside its sandbox."""

    def __init__(
        self,
        build_argv: Callable[[int], Sequence[str]],
        *,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        """`build_argv(info_fd)` gives bubblewrap's argv, reporting the child on `info_fd`."""
        self._build_argv = build_argv
        self._env = dict(env)
        self.log_path = log_path
        self.log_offset = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.child_pid: int | None = None  # the command's pid (bubblewrap's child)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        read_end, write_end = os.pipe()
        try:
            with self.log_path.open("ab") as log:
                self.log_offset = log.tell()
                self.process = subprocess.Popen(
                    list(self._build_argv(write_end)),
                    env=self._env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_end,),
                    start_new_session=True,  # no terminal signal of the kubelet's reaches it
                )
        finally:
            os.close(write_end)
        with os.fdopen(read_end, "rb") as info:
            data = info.read()  # bubblewrap closes it once the child runs (or it failed)
        with contextlib.suppress(ValueError, KeyError):
            self.child_pid = int(json.loads(data)["child-pid"])

    @property
    def pid(self) -> int | None:
        return self.child_pid

    @property
    def alive(self) -> bool:
        """Started and not ended (safe to ask from any thread, at any time)."""
        process = self.process
        return process is not None and self.child_pid is not None and process.poll() is None

    def poll(self) -> int | None:
        """The exit code once the process ended, as a container runtime gives it."""
        assert self.process is not None
        code = self.process.poll()
        if code is None:
            return None
        return 128 - code if code < 0 else code

    def wait(self, timeout: float) -> int | None:
        assert self.process is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        return self.poll()

    def stop(self, grace_seconds: float) -> int:
        """SIGTERM to the process group, SIGKILL after the grace period; returns the code."""
        assert self.process is not None
        if self.poll() is None:
            self._signal(signal.SIGTERM)
            deadline = time.monotonic() + max(0.0, grace_seconds)
            while self.poll() is None and time.monotonic() < deadline:
                self.wait(min(0.1, max(0.0, deadline - time.monotonic())))
        # Children that outlived the leader are part of the container, too.
        self._signal(signal.SIGKILL)
        if self.poll() is None:
            self.process.kill()  # bubblewrap itself, should it hang on
            self.process.wait(10)
        code = self.poll()
        assert code is not None
        return code

    def _signal(self, sig: signal.Signals) -> None:
        if self.child_pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.child_pid, sig)
