"""Fixtures shared by every tier.

The fixtures themselves live in the dev-tools package (so the demo and the benchmarks use the
same code); this file registers them as pytest plugins and fills the dev cluster's image
table with the test doubles that need one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "wattcast.devtools.testbed.fixtures",
    "wattcast.devtools.cluster.fixtures",
]

# The operator tests' double of wattcast-trainer (tests/integration/operator/trainer-double).
TRAINER_DOUBLE_IMAGE = "wattcast-trainer:double"


@pytest.fixture(scope="session")
def devcluster_images() -> dict[str, Path]:
    """The session cluster's image table: pods of these images run the folder's programs."""
    return {TRAINER_DOUBLE_IMAGE: Path(__file__).parent / "integration/operator/trainer-double"}
