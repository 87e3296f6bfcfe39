"""The operator's shared tools, made once per process and handed to every handler in Kopf's memo.

`Runtime` holds the settings, the configured InfluxDB sources, the Kubernetes client and the
in-memory `state.OperatorState`. `main` builds it before Kopf starts, so a configuration error
stops the process at once; the startup handler builds it only when Kopf was started another way
(`kopf run -m wattcast.operator.handlers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from wattcast.crd import InfluxSource
from wattcast.operator.kubeclient import KubeClient, load_api_client
from wattcast.operator.settings import OperatorSettings, get_settings
from wattcast.operator.sources import configured_sources
from wattcast.operator.state import OperatorState


@dataclass
class Runtime:
    """Settings, sources, client and memory of one operator process."""

    settings: OperatorSettings
    sources: dict[str, InfluxSource]
    kube: KubeClient
    state: OperatorState = field(default_factory=OperatorState)

    @classmethod
    def from_environment(cls) -> Runtime:
        settings = get_settings()
        return cls(
            settings=settings,
            sources=configured_sources(settings),
            kube=KubeClient(load_api_client()),
        )


def runtime_of(memo: Any) -> Runtime:
    """The Runtime that `main` (or the startup handler) put into Kopf's memo."""
    return cast("Runtime", memo.runtime)
