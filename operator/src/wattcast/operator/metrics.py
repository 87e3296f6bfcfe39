"""Prometheus metrics of the operator, served on WATTCAST_METRICS_PORT.

Metrics live in their own registry (not the process-global default), so a test or a second
operator in one process starts from zero.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from wattcast.crd import Phase

REGISTRY = CollectorRegistry(auto_describe=True)


class PhaseTally(Collector):
    """TrainingJobs by phase, counted at scrape time from what the watch last showed.

    A gauge set per event would need a full recount on every event; this keeps one phase per
    TrainingJob and counts only when Prometheus asks.
    """

    def __init__(self) -> None:
        self._phases: dict[tuple[str, str], str] = {}

    def set(self, namespace: str, name: str, phase: str | None) -> None:
        self._phases[(namespace, name)] = phase or "Unknown"

    def forget(self, namespace: str, name: str) -> None:
        self._phases.pop((namespace, name), None)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys([*(p.value for p in Phase), "Unknown"], 0)
        for phase in list(self._phases.values()):
            counts[phase] = counts.get(phase, 0) + 1
        return counts

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "wattcast_trainingjobs",
            "TrainingJobs the operator sees, by phase (Unknown: no phase yet).",
            labels=["phase"],
        )
        for phase, count in sorted(self.counts().items()):
            family.add_metric([phase], count)
        yield family


TRAININGJOBS = PhaseTally()
REGISTRY.register(TRAININGJOBS)
JOB_CREATION_LATENCY = Histogram(
    "wattcast_trainingjob_to_job_seconds",
    "Seconds from the operator's first sight of a TrainingJob until its Job existed.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
JOB_OUTCOMES = Counter(
    "wattcast_job_outcomes",
    "Finished TrainingJobs by phase and reason, as the operator recorded them.",
    ["phase", "reason"],
    registry=REGISTRY,
)
JOBS_CREATED = Counter(
    "wattcast_jobs",
    "Jobs the operator made for TrainingJobs: created, adopted, or refused.",
    ["action"],
    registry=REGISTRY,
)
HANDLER_ERRORS = Counter(
    "wattcast_handler_errors",
    "Operator handler runs that raised, by handler.",
    ["handler"],
    registry=REGISTRY,
)
API_REQUESTS = Counter(
    "wattcast_api_requests",
    "Kubernetes API requests the operator's handlers made, by verb, resource and status code "
    "(Kopf's own watches and bookkeeping patches not included).",
    ["verb", "resource", "code"],
    registry=REGISTRY,
)


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def counted(fn: F) -> F:
    """Count a handler's exceptions in HANDLER_ERRORS (Kopf still logs and retries them)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except Exception:
            HANDLER_ERRORS.labels(handler=fn.__name__).inc()
            raise

    return cast("F", wrapper)


def serve(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from the pod IP
    """Serve /metrics in a background thread (port 0: metrics disabled)."""
    if port:
        start_http_server(port, addr=addr, registry=REGISTRY)
