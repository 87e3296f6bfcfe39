"""Fixtures for the operator's integration tests: the real `wattcast-operator` process (Kopf,
the kubernetes client) against the emulated API server, with the stand-in Job controller.

- ``operator`` (session): one operator on the session emulator, watching only namespaces
  named ``op-*`` (Kopf globs), so other test directories sharing the emulator are left alone;
  every test works in its own such namespace (``namespace``, overridden here).
- ``start_operator`` (function): a factory for an operator of a test's own, on an emulator of
  its own (``fresh_emulator``), with extra settings; for restarts, adoption, retention.
- ``jobs`` (session): the stand-in Job controller, acting in the ``op-*`` namespaces only.
- ``k8s`` (session): a small synchronous client for the tests (kubernetes client, real HTTP).
Helpers live in operatorkit.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from operatorkit import K8s, OperatorProcess, operator_env

from wattcast.devtools.emulator.fixtures import RunningEmulator
from wattcast.devtools.jobcontroller import JobController

NAMESPACE_PREFIX = "op-"


@pytest.fixture
def namespace(emulator: RunningEmulator) -> Iterator[str]:
    """A unique namespace the session operator watches, deleted after the test."""
    name = f"{NAMESPACE_PREFIX}{uuid.uuid4().hex[:10]}"
    emulator.create_namespace(name)
    try:
        yield name
    finally:
        emulator.delete_namespace(name)


@pytest.fixture(scope="session")
def operator(
    emulator: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    workdir = tmp_path_factory.mktemp("operator")
    env = operator_env(workdir, WATTCAST_NAMESPACES=f"{NAMESPACE_PREFIX}*")
    running = OperatorProcess(emulator.kubeconfig_path, workdir, env).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def start_operator(
    tmp_path: Path,
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start an operator of the test's own on `emulator` with extra WATTCAST_* settings."""
    started: list[OperatorProcess] = []

    def factory(emulator: RunningEmulator, **extra: str) -> OperatorProcess:
        running = OperatorProcess(
            emulator.kubeconfig_path, tmp_path, operator_env(tmp_path, **extra)
        ).start()
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in started:
            running.stop()


@pytest.fixture(scope="session")
def jobs(emulator: RunningEmulator) -> Iterator[JobController]:
    ours = JobController(
        emulator.kubeconfig_path, namespaces=lambda ns: ns.startswith(NAMESPACE_PREFIX)
    )
    with ours as controller:
        yield controller


@pytest.fixture(scope="session")
def k8s(emulator: RunningEmulator) -> Iterator[K8s]:
    api = K8s(emulator.kubeconfig_path)
    try:
        yield api
    finally:
        api.close()
