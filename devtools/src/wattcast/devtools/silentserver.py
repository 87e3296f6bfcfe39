"""Servers that fail the way a hung Kubernetes API does, for tests and benchmarks of timeouts.

`SilentServer` accepts every connection on a loopback port and never answers (a hung API
server, a black-holed load balancer); `closed_port()` is a port where nothing listens.
`kubeconfig_for` points a client at either. Real sockets on 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path


class SilentServer:
    """Accepts every TCP connection on a loopback port, reads nothing, answers nothing."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.port = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-kube", daemon=True)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopped.set()
        self._listener.close()
        self._thread.join(5)
        for conn in self._held:
            conn.close()

    @property
    def accepted(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kubeconfig_for(path: Path, port: int, *, host: str = "127.0.0.1") -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://{host}:{port}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n",
        encoding="utf-8",
    )
    return path
