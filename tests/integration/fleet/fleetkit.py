"""Helpers of the fleet's integration tests: the FleetTrainingJob API, synthetic meters, and a
TCP proxy in front of InfluxDB that a test can take down (the "InfluxDB is down for one shard"
drill)."""

from __future__ import annotations

import contextlib
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from testkit import wait_for

from wattcast.crd import constants
from wattcast.devtools.stack import LocalStack
from wattcast.devtools.testbed.synthetic import generate_meter

START = datetime(2024, 3, 4, tzinfo=UTC)
DAYS = 35
TINY_MODEL = {"epochs": 1, "holdoutDays": 3, "lookbackHours": 24}
FLAKY_SOURCE = "flaky"
WAIT_S = 300.0


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def fleet_body(name: str, meters: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": constants.API_VERSION,
        "kind": constants.FLEET_KIND,
        "metadata": {"name": name},
        "spec": {
            "meters": {"ids": meters},
            "meterType": "electricity",
            "start": stamp(START),
            "end": stamp(START + timedelta(days=DAYS)),
            "model": TINY_MODEL,
            **spec,
        },
    }


class Fleets:
    """FleetTrainingJobs, Jobs and pods of the stack's namespace, through the admin client."""

    def __init__(self, stack: LocalStack, namespace: str = "default") -> None:
        assert stack.admin is not None
        self.stack = stack
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(stack.admin)
        self.batch = client.BatchV1Api(stack.admin)
        self.core = client.CoreV1Api(stack.admin)
        self.loaded: set[str] = set()

    def load(self, meters: list[str]) -> None:
        for meter in meters:
            if meter in self.loaded:
                continue
            frame = generate_meter(
                "household",
                start=START,
                end=START + timedelta(days=DAYS),
                seed=sum(map(ord, meter)) % 1000,
            )
            self.stack.write_meter("electricity", meter, frame)
            self.loaded.add(meter)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.custom.create_namespaced_custom_object(
            constants.GROUP, constants.VERSION, self.namespace, constants.FLEET_PLURAL, body
        )
        return result

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self.custom.get_namespaced_custom_object(
                constants.GROUP, constants.VERSION, self.namespace, constants.FLEET_PLURAL, name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return result

    def status(self, name: str) -> dict[str, Any]:
        return dict((self.get(name) or {}).get("status") or {})

    def wait_phase(self, name: str, *phases: str, timeout: float = WAIT_S) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            status = self.status(name)
            return status if status.get("phase") in phases else None

        try:
            return dict(wait_for(f"{name} in {phases}", reached, timeout))
        except AssertionError as error:
            status = self.status(name)
            raise AssertionError(f"{error}\nstatus: {status}\n{self.stack.logs()}") from None

    def jobs_of(self, name: str) -> list[dict[str, Any]]:
        response = self.batch.list_namespaced_job(
            self.namespace,
            label_selector=f"{constants.LABEL_FLEETTRAININGJOB}={name}",
            _preload_content=False,
        )
        return list(response.json()["items"])

    def pods_of(self, name: str) -> list[dict[str, Any]]:
        response = self.core.list_namespaced_pod(
            self.namespace, label_selector=f"job-name={name}", _preload_content=False
        )
        return list(response.json()["items"])

    def events_of(self, name: str) -> list[dict[str, Any]]:
        response = self.core.list_namespaced_event(self.namespace, _preload_content=False)
        return [
            e
            for e in response.json()["items"]
            if (e.get("involvedObject") or {}).get("name") == name
            and (e.get("involvedObject") or {}).get("kind") == constants.FLEET_KIND
        ]

    def outcome_file(self, uid: str, meter: str) -> Path:
        return self.stack.models_dir / "fleets" / uid / "meters" / f"{meter}.json"

    def versions(self, meter: str) -> list[str]:
        folder = self.stack.models_dir / "electricity" / meter / "versions"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def index_of(pod: dict[str, Any]) -> int:
    annotations = pod["metadata"].get("annotations") or {}
    return int(annotations["batch.kubernetes.io/job-completion-index"])


class Proxy:
    """A TCP forwarder to `target`; `down()` makes it refuse (close) every new connection."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def down(self) -> None:
        self.up = False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                conn.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                conn.close()
                continue
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
