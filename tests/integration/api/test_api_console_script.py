"""`WATTCAST_API_TOKENS=... wattcast-api --host H --port P` serves the seed's examples with a
token and refuses them without; with no token configured it refuses to start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import api_process
from testkit import TrainingJobs, free_port

SCRIPT = Path(sys.executable).parent / "wattcast-api"


def _env(kubeconfig: Path, namespace: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTCAST_API_")}
    env.update(WATTCAST_API_KUBECONFIG=str(kubeconfig), WATTCAST_API_NAMESPACE=namespace, **extra)
    return env


@pytest.fixture
def console_api(kubeconfig: Path, namespace: str) -> Iterator[str]:
    with api_process(kubeconfig, namespace, WATTCAST_API_TOKENS="console-token") as served:
        yield served.url
    # uvicorn shuts down gracefully, then re-raises the signal it caught, so the exit
    # status says "terminated by SIGTERM" as for any process stopped that way.
    assert served.proc.returncode in {0, -signal.SIGTERM}


def test_the_console_script_serves_the_seeds_examples_with_a_token(
    console_api: str, cluster: TrainingJobs, seed_body: dict[str, Any]
) -> None:
    assert httpx.post(f"{console_api}/trainmodel/v2/", json=seed_body).status_code == 401
    assert cluster.items() == []
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
        [str(SCRIPT), "--port", str(free_port())],
        env=_env(kubeconfig, namespace),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "WATTCAST_API_AUTH_DISABLED" in result.stderr
