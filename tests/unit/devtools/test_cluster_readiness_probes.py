"""Readiness probes on 127.0.0.1: unready until a pass, flipping after the thresholds."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from wattcast.devtools.cluster.probes import Readiness, probe_once


class Server:
    """A loopback HTTP server whose /readyz answers `status`."""

    def __init__(self) -> None:
        self.status = 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(outer.status if self.path == "/readyz" else 404)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def container(probe: dict[str, Any], port: int) -> dict[str, Any]:
    return {
        "name": "api",
        "ports": [{"name": "http", "containerPort": port}],
        "readinessProbe": probe,
    }


def test_http_probes_pass_on_2xx_and_named_ports_are_found(server: Server) -> None:
    probe = {"httpGet": {"path": "/readyz", "port": "http"}}
    assert probe_once(probe, container(probe, server.port))
    server.status = 503
    assert not probe_once(probe, container(probe, server.port))
    assert not probe_once(
        {"httpGet": {"path": "/readyz", "port": "nope"}}, container(probe, server.port)
    )


def test_tcp_probes_connect(server: Server) -> None:
    assert probe_once({"tcpSocket": {"port": server.port}}, {})
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        free = unused.getsockname()[1]
    assert not probe_once({"tcpSocket": {"port": free}}, {})


def test_without_a_probe_a_running_container_is_ready() -> None:
    readiness = Readiness({"name": "c"})
    assert readiness.ready and not readiness.tick()


def test_ready_after_a_pass_and_unready_after_the_failure_threshold(server: Server) -> None:
    probe = {
        "httpGet": {"path": "/readyz", "port": server.port},
        "initialDelaySeconds": 5,
        "periodSeconds": 1,
        "failureThreshold": 2,
    }
    readiness = Readiness(container(probe, server.port), started=100.0)
    assert not readiness.ready
    assert not readiness.tick(now=104.0)  # before the initial delay: no probe
    assert readiness.tick(now=105.0) and readiness.ready
    server.status = 500
    assert not readiness.tick(now=106.0) and readiness.ready  # one failure is not enough
    assert not readiness.tick(now=106.5)  # not due yet
    assert readiness.tick(now=107.0) and not readiness.ready
