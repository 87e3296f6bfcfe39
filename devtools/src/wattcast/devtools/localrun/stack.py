"""The whole system on one machine: what `make demo` and the end-to-end tests run.

`LocalStack` starts, in order, and stops in reverse:

1. a real InfluxDB 1.x (the test bed's `InfluxServer`, authentication on) with the database
   `energy`, its `user:password` token in the Secret `influx-token` of the namespace;
2. the emulated Kubernetes API server (`wattcast-emulator`, a process) with the CRD, and a
   kubeconfig for kubectl and every component;
3. the operator (`wattcast-operator`), its default source that InfluxDB (InfluxQL), plus a
   named source `offline` pointing at a closed port (the "InfluxDB is down" drill);
4. the REST API (`wattcast-api`) with a generated bearer token;
5. the local job runner (in this process), which runs each trainer pod as a process.

Each process logs to a file in the work directory; `logs()` gathers their tails for a
failure report. Processes die with the Python process that started them (Linux), so a killed
demo or test run leaves nothing behind.
"""

from __future__ import annotations

import base64
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from wattcast.devtools.jobcontroller import KubeHttp
from wattcast.devtools.localrun.runner import LocalRunner, RunnerSettings
from wattcast.devtools.testbed.influx import InfluxServer, write_meter

DATABASE = "energy"
TOKEN_SECRET = "influx-token"  # noqa: S105 - a Secret's name
OFFLINE_SOURCE = "offline"
NAMESPACE = "default"
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def repo_root() -> Path:
    """The repository root: $WATTCAST_REPO_ROOT, else upwards from here or the cwd."""
    env = os.environ.get("WATTCAST_REPO_ROOT")
    if env:
        return Path(env)
    for base in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        if (base / "crds" / "trainingjob.yaml").is_file():
            return base
    raise FileNotFoundError("cannot find the wattcast repository (crds/trainingjob.yaml)")


def bin_path(name: str) -> str:
    """A console script of this environment (next to the running Python), else from PATH."""
    local = Path(sys.executable).with_name(name)
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed: run `make setup`")
    return found


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class StackError(RuntimeError):
    """A component did not start; the message carries its log's tail."""


@dataclass
class Service:
    """One component running as a process, with its log."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    health_url: str | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        if self.health_url is not None:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise StackError(f"{self.name} exited at start:\n{self.log_tail()}")
            try:
                assert self.health_url is not None
                with urllib.request.urlopen(self.health_url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise StackError(f"{self.name} did not become healthy in {timeout:g}s:\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye (the operator-restart drill)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, limit: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


@dataclass
class StackOptions:
    """How to build the stack; the defaults are the demo's."""

    workdir: Path
    capacity: int = 2
    backoff_base_seconds: float = 10.0
    pod_env: dict[str, str] = field(default_factory=dict)
    operator_env: dict[str, str] = field(default_factory=dict)
    api_token: str | None = None
    api_port: int | None = None
    runner_poll_seconds: float = 0.25


class LocalStack:
    """See the module docstring. Use as a context manager, or start()/stop()."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.workdir = options.workdir.resolve()
        self.models_dir = self.workdir / "models"
        self.kubeconfig = self.workdir / "kubeconfig"
        self.token = options.api_token or secrets.token_urlsafe(24)
        self.influx: InfluxServer | None = None
        self.emulator: Service | None = None
        self.operator: Service | None = None
        self.api: Service | None = None
        self.runner: LocalRunner | None = None
        self.emulator_url = ""
        self.api_url = ""
        self._operator_generation = 0

    # --- life ----------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.models_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_influx()
            self.start_emulator()
            self.create_token_secret(NAMESPACE)
            self.start_operator()
            self.start_api()
            self.start_runner()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything started, in reverse order; safe to call twice."""
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        for service in (self.api, self.operator, self.emulator):
            if service is not None:
                service.stop()
        if self.influx is not None:
            self.influx.stop()

    # --- components ------------------------------------------------------------------------

    def start_influx(self) -> None:
        self.influx = InfluxServer(auth=True).start()
        self.influx.create_database(DATABASE)

    def start_emulator(self) -> None:
        port = free_port()
        self.emulator_url = f"http://127.0.0.1:{port}"
        self.emulator = Service(
            "emulator",
            [
                bin_path("wattcast-emulator"),
                "--port",
                str(port),
                "--kubeconfig",
                str(self.kubeconfig),
                "--crd",
                str(repo_root() / "crds" / "trainingjob.yaml"),
            ],
            dict(os.environ),
            self.workdir / "logs" / "emulator.log",
            health_url=f"{self.emulator_url}/readyz",
        ).start()
        deadline = time.monotonic() + 10
        while not self.kubeconfig.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def create_token_secret(self, namespace: str) -> None:
        """The InfluxDB token as a Secret in `namespace` (secretKeyRef is namespace-local)."""
        assert self.influx is not None and self.influx.token is not None
        http = KubeHttp(self.kubeconfig)
        try:
            http.request(
                "POST",
                f"/api/v1/namespaces/{namespace}/secrets",
                body={
                    "metadata": {"name": TOKEN_SECRET},
                    "data": {"token": base64.b64encode(self.influx.token.encode()).decode()},
                },
                allow=(409,),
            )
        finally:
            http.close()

    def sources_file(self) -> Path:
        path = self.workdir / "sources.yaml"
        if not path.exists():
            # A source nobody listens on: the drill for "InfluxDB is down".
            offline = {
                "name": OFFLINE_SOURCE,
                "url": f"http://127.0.0.1:{free_port()}",
                "dialect": "influxql",
                "database": DATABASE,
            }
            path.write_text(yaml.safe_dump([offline]))
        return path

    def start_operator(self) -> Service:
        assert self.influx is not None
        self._operator_generation += 1
        health = free_port()
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "WATTCAST_INFLUX_URL": self.influx.url,
            "WATTCAST_INFLUX_DIALECT": "influxql",
            "WATTCAST_INFLUX_DATABASE": DATABASE,
            "WATTCAST_INFLUX_TOKEN_SECRET": f"{TOKEN_SECRET}/token",
            "WATTCAST_INFLUX_SOURCES_FILE": str(self.sources_file()),
            "WATTCAST_TRAINER_IMAGE": "wattcast-trainer:local",
            "WATTCAST_METRICS_PORT": str(free_port()),
            "WATTCAST_HEALTH_PORT": str(health),
            "WATTCAST_LOG_FORMAT": "plain",
            **self.options.operator_env,
        }
        self.operator = Service(
            "operator",
            [bin_path("wattcast-operator"), "--verbose"],
            env,
            self.workdir / "logs" / f"operator-{self._operator_generation}.log",
            health_url=f"http://127.0.0.1:{health}/healthz",
        ).start(timeout=90)
        return self.operator

    def start_api(self) -> None:
        assert self.influx is not None
        port = self.options.api_port or free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "WATTCAST_API_TOKENS": self.token,
            "WATTCAST_INFLUX_URL": self.influx.url,
            "WATTCAST_INFLUX_SOURCES_FILE": str(self.sources_file()),
            "WATTCAST_LOG_FORMAT": "plain",
        }
        self.api = Service(
            "api",
            [bin_path("wattcast-api"), "--host", "127.0.0.1", "--port", str(port)],
            env,
            self.workdir / "logs" / "api.log",
            health_url=f"{self.api_url}/readyz",
        ).start(timeout=60)

    def start_runner(self) -> None:
        settings = RunnerSettings(
            capacity=self.options.capacity,
            backoff_base_seconds=self.options.backoff_base_seconds,
            poll_interval_seconds=self.options.runner_poll_seconds,
            extra_env=self.options.pod_env,
        )
        self.runner = LocalRunner(
            self.kubeconfig, self.models_dir, self.workdir / "runner", settings
        ).start()

    def restart_operator(self, *, kill: bool = True) -> Service:
        """Kill (or stop) the operator and start a new one, as a crash and a restart would."""
        if self.operator is not None:
            if kill:
                self.operator.kill()
            else:
                self.operator.stop()
        return self.start_operator()

    # --- reading ---------------------------------------------------------------------------

    def logs(self) -> str:
        """The tails of every component's log, for a failure report."""
        parts = []
        for service in (self.emulator, self.operator, self.api):
            if service is not None:
                parts.append(f"--- {service.name} ({service.log_path}) ---\n{service.log_tail()}")
        if self.runner is not None:
            pods = sorted((self.workdir / "runner" / "pods").glob("*/*/log"))
            for log in pods[-4:]:
                parts.append(
                    f"--- pod {log.parent.name} ---\n{log.read_text(errors='replace')[-4000:]}"
                )
        return "\n".join(parts)

    def env(self) -> dict[str, Any]:
        """What a user needs to talk to the stack."""
        return {
            "WATTCAST_API_URL": self.api_url,
            "WATTCAST_API_TOKEN": self.token,
            "KUBECONFIG": str(self.kubeconfig),
        }

    def write_meter(self, meter_type: str, meter_id: str, frame: pd.DataFrame) -> int:
        """Write a meter's readings into the stack's InfluxDB in the seed's format."""
        assert self.influx is not None
        return write_meter(
            self.influx.url, DATABASE, meter_type, meter_id, frame, auth=self.influx.auth
        )
