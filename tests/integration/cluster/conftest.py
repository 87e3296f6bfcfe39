"""The dev cluster's own tests use its session fixtures (wattcast.devtools.cluster.fixtures)."""

from wattcast.devtools.cluster.fixtures import devcluster, kube

__all__ = ["devcluster", "kube"]
