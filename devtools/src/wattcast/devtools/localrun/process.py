"""One pod's container as a local process: started, watched, stopped like the kubelet would.

The process gets a session of its own, so stopping it reaches every child it started
(SIGTERM to the group, SIGKILL after the grace period). Its stdout and stderr go to one log
file; `termination_message` reads what the container left at its termination message path,
falling back to the log's tail under `FallbackToLogsOnError`, cut to Kubernetes' 4096 bytes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wattcast.devtools.cluster.processes import log_tail, termination_message
from wattcast.devtools.localrun.pods import LaunchPlan


@dataclass
class PodProcess:
    """A running (or finished) container process of one pod."""

    namespace: str
    pod_name: str
    pod_uid: str
    job_name: str
    job_uid: str
    plan: LaunchPlan
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    process: subprocess.Popen[bytes] | None = None
    stop_reason: str | None = None  # why the runner stopped it (None: it ended by itself)

    def start(self) -> None:
        self.plan.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.plan.cwd.mkdir(parents=True, exist_ok=True)
        self.plan.termination_log.touch()
        with self.plan.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.plan.argv,
                env=self.plan.env,
                cwd=self.plan.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches its children
            )
        self.started_at = datetime.now(UTC)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def poll(self) -> int | None:
        """The exit code once the process ended (negative: killed by that signal)."""
        return None if self.process is None else self.process.poll()

    def stop(self, reason: str, *, grace_seconds: float | None = None) -> int:
        """SIGTERM to the process group, SIGKILL after the grace period; returns the code."""
        if self.stop_reason is None:
            self.stop_reason = reason
        assert self.process is not None
        grace = self.plan.grace_seconds if grace_seconds is None else grace_seconds
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(10)
        # Children that outlived the leader are part of the pod, too.
        self._signal(signal.SIGKILL)
        code = self.process.returncode
        return int(code)

    def _signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def exit_code(self) -> int:
        """The exit code as a container runtime reports it (128 + signal when killed)."""
        code = self.poll()
        assert code is not None
        return 128 - code if code < 0 else code

    def termination_message(self) -> str | None:
        """What the container wrote to its termination message path (or the log's tail)."""
        return termination_message(
            self.plan.termination_log,
            self.plan.termination_policy,
            self.exit_code(),
            self.plan.log_path,
        )

    def log_tail(self) -> str:
        return log_tail(self.plan.log_path)

    def log(self) -> str:
        try:
            return self.plan.log_path.read_text(errors="replace")
        except OSError:
            return ""


def wait_all(processes: list[PodProcess], timeout: float) -> None:
    """Wait until every process ended, up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    for proc in processes:
        if proc.process is None:
            continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.process.wait(max(0.0, deadline - time.monotonic()))
