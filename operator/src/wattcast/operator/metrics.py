"""Prometheus metrics of the operator, served on WATTCAST_METRICS_PORT.

Metrics live in their own registry (not the process-global default), so a test or a second
operator in one process starts from zero.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from wattcast.crd import Phase

REGISTRY = CollectorRegistry(auto_describe=True)

TRAININGJOBS = Gauge(
    "wattcast_trainingjobs",
    "TrainingJobs the operator sees, by phase (Unknown: no phase yet).",
    ["phase"],
    registry=REGISTRY,
)
JOB_CREATION_LATENCY = Histogram(
    "wattcast_trainingjob_to_job_seconds",
    "Seconds from a TrainingJob's creationTimestamp until its Job existed.",
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


def record_phases(counts: dict[str, int]) -> None:
    """Set the by-phase gauge from a full count (phases absent from `counts` become 0)."""
    for phase in [*(p.value for p in Phase), "Unknown"]:
        TRAININGJOBS.labels(phase=phase).set(counts.get(phase, 0))


def serve(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from the pod IP
    """Serve /metrics in a background thread (port 0: metrics disabled)."""
    if port:
        start_http_server(port, addr=addr, registry=REGISTRY)
