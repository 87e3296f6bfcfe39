"""Fixtures of the CRD's integration tests, on the session's real API server.

- ``tjs`` (function): :class:`testkit.TrainingJobs` in the test's own namespace.
- ``shared_tjs`` (module): the same in one namespace for the whole module, for tests that
  create nothing (refusals) or only uniquely named objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client
from testkit import TrainingJobs

from wattcast.devtools.cluster.access import create_namespace, delete_namespace


@pytest.fixture
def tjs(kube: client.ApiClient, namespace: str) -> TrainingJobs:
    return TrainingJobs(kube, namespace)


@pytest.fixture(scope="module")
def shared_tjs(kube: client.ApiClient) -> Iterator[TrainingJobs]:
    name = f"crd-{uuid.uuid4().hex[:10]}"
    create_namespace(kube, name)
    try:
        yield TrainingJobs(kube, name)
    finally:
        delete_namespace(kube, name)
