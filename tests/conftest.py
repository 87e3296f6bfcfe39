"""Fixtures shared by every tier.

The fixtures themselves live in the dev-tools package (so the demo and the benchmarks use the
same code); this file only registers them as pytest plugins.
"""

pytest_plugins = [
    "wattcast.devtools.testbed.fixtures",
    "wattcast.devtools.cluster.fixtures",
]
