"""A scripted stand-in of the wattcast REST API on a loopback port, for the CLI's unit tests
(helpers only, no tests: named test_cli_* to sit with the tests that import it).

The CLI is tested over real HTTP (mocking at the HTTP boundary, never patching the client):
each route answers from a list of (status, body) responses, the last one repeating, and every
request is recorded with its headers, query and body.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    url: str = ""
    routes: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def on(self, method: str, path: str, *responses: tuple[int, Any]) -> None:
        self.routes[(method, path)] = list(responses)

    def answer(self, method: str, path: str) -> tuple[int, Any]:
        responses = self.routes.get((method, path))
        if not responses:
            return 404, {"detail": f"no route {method} {path}", "code": "not_found"}
        return responses.pop(0) if len(responses) > 1 else responses[0]


def job(name: str, word: str = "PENDING", progress: int = 0, **status: Any) -> dict[str, Any]:
    """A TrainingJobPublic as the API sends it."""
    phases = {
        "PENDING": "Pending",
        "TRAINING": "Training",
        "SUCCESS": "Succeeded",
        "FAILURE": "Failed",
        "SUSPENDED": "Suspended",
        "REVOKED": "Suspended",
    }
    return {
        "name": name,
        "namespace": "default",
        "taskStatus": word,
        "phase": phases.get(word),
        "progress": progress,
        "message": status.pop("message", None),
        "cancelled": word == "REVOKED",
        "createdAt": "2026-01-01T00:00:00Z",
        "spec": {
            "meterId": "meter1",
            "meterType": "electricity",
            "start": "2024-01-01T00:00:00Z",
            "end": "2024-02-01T00:00:00Z",
            "suspend": word in ("SUSPENDED", "REVOKED"),
        },
        "status": {"phase": phases.get(word), "progress": progress, **status},
    }


def serve() -> tuple[FakeApi, ThreadingHTTPServer]:
    api = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            api.requests.append(
                Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
            )
            status, body = api.answer(self.command, parts.path)
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            if status != 204:
                content = "text/plain" if isinstance(body, str) else "application/json"
                self.send_header("Content-Type", content)
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if status != 204:
                self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return api, server
