"""Fixtures shared by the integration tests that run the real operator (tests/integration/operator
and tests/integration/kueue):

- ``k8s`` (session): a small synchronous admin client (``operatorkit.K8s``).
- ``operator_kubeconfig`` (session): a kubeconfig acting as the chart's operator ServiceAccount
  (wattcast-system).

The operator tests' helpers (operatorkit.py) live with them in tests/integration/operator and
are importable from every integration test directory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "operator"))

from operatorkit import K8s

from wattcast.devtools.cluster.chart import ChartIdentities


@pytest.fixture(scope="session")
def operator_kubeconfig(
    chart_identities: ChartIdentities, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A kubeconfig acting as the chart's operator ServiceAccount (wattcast-system)."""
    return chart_identities.kubeconfig_for(
        "operator", tmp_path_factory.mktemp("operator-identity") / "kubeconfig"
    )


@pytest.fixture(scope="session")
def k8s(kubeconfig: Path) -> Iterator[K8s]:
    api = K8s(kubeconfig)
    try:
        yield api
    finally:
        api.close()
