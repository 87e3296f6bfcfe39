"""`WATTCAST_API_TOKENS=... wattcast-api --host H --port P` serves the seed's examples with a
token and refuses them without; with no token configured it refuses to start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import Cluster

SCRIPT = Path(sys.executable).parent / "wattcast-api"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(kubeconfig: Path, namespace: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTCAST_API_")}
    env.update(WATTCAST_API_KUBECONFIG=str(kubeconfig), WATTCAST_API_NAMESPACE=namespace, **extra)
    return env


@pytest.fixture
def console_api(kubeconfig: Path, namespace: str) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [str(SCRIPT), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=_env(kubeconfig, namespace, WATTCAST_API_TOKENS="console-token"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "wattcast-api exited"
            assert time.monotonic() < deadline, "wattcast-api did not become ready"
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught, so the exit
        # status says "terminated by SIGTERM" as for any process stopped that way.
        assert proc.wait(20) in {0, -signal.SIGTERM}


def test_the_console_script_serves_the_seeds_examples_with_a_token(
    console_api: str, cluster: Cluster, seed_body: dict[str, Any]
) -> None:
    assert httpx.post(f"{console_api}/trainmodel/v2/", json=seed_body).status_code == 401
    assert cluster.jobs() == []
    auth = {"Authorization": "Bearer console-token"}
    created = httpx.post(f"{console_api}/trainmodel/v2/", json=seed_body, headers=auth)
    assert created.status_code == 200
    task_id = created.json()["task_id"]
    status = httpx.get(f"{console_api}/trainmodel/status/{task_id}", headers=auth)
    assert status.json() == {"task_id": task_id, "status": "PENDING", "progress": 0}
    assert cluster.names() == [task_id]


def test_without_tokens_the_console_script_refuses_to_start(
    kubeconfig: Path, namespace: str
) -> None:
    result = subprocess.run(
        [str(SCRIPT), "--port", str(_free_port())],
        env=_env(kubeconfig, namespace),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "WATTCAST_API_AUTH_DISABLED" in result.stderr
