"""Clients for the emulator conformance suite: the official kubernetes client and raw HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_helpers import GROUP, PLURAL, VERSION, MakeTJ, Raw, tj_body, unique
from kubernetes import client, config

from wattcast.devtools.emulator.fixtures import RunningEmulator


@pytest.fixture(scope="session")
def api_client(emulator: RunningEmulator) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(str(emulator.kubeconfig_path))
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def batch(api_client: client.ApiClient) -> client.BatchV1Api:
    return client.BatchV1Api(api_client)


@pytest.fixture
def raw(emulator: RunningEmulator) -> Iterator[Raw]:
    session = Raw(emulator.url)
    try:
        yield session
    finally:
        session.session.close()


@pytest.fixture
def make_tj(custom: client.CustomObjectsApi, namespace: str) -> MakeTJ:
    """Create a valid TrainingJob in the test's namespace; returns the stored object."""

    def make(name: str | None = None, **spec: Any) -> dict[str, Any]:
        body = tj_body(name or unique(), **spec)
        result: dict[str, Any] = custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, body
        )
        return result

    return make
