"""Helpers of the trainer's integration tests: spec files, settings, recording HTTP servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from testkit import tj_body
from typer.testing import CliRunner

from wattcast.forecasting.settings import get_influx_env
from wattcast.trainer.main import app
from wattcast.trainer.settings import get_settings


def clear_settings() -> None:
    get_settings.cache_clear()
    get_influx_env.cache_clear()


def write_spec(path: Path, spec: dict[str, Any], name: str = "tj") -> Path:
    path.write_text(yaml.safe_dump(tj_body(name, spec)))
    return path


@dataclass
class TrainerRun:
    exit_code: int
    output: str
    termination: dict[str, Any] | None


def run_trainer(args: list[str], termination_log: Path) -> TrainerRun:
    """Run `wattcast-trainer` in this process (TensorFlow is imported once per session)."""
    clear_settings()
    result = CliRunner().invoke(
        app, [*args, "--termination-log", str(termination_log), "--no-progress"]
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    termination = json.loads(termination_log.read_bytes()) if termination_log.exists() else None
    return TrainerRun(result.exit_code, result.output, termination)


@dataclass
class RecordingServer:
    """A loopback HTTP server answering with `respond` and recording every request."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def recording_server(
    respond: Callable[[str, str, bytes], tuple[int, dict[str, str], bytes]],
) -> Iterator[RecordingServer]:
    recorded: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorded.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "body": body,
                    "headers": dict(self.headers),
                }
            )
            status, headers, payload = respond(self.command, self.path, body)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _handle
        do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RecordingServer(f"http://127.0.0.1:{server.server_address[1]}", recorded)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
