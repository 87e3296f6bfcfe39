"""Prometheus metrics of the API, on a registry of the app's own (so several apps, as in
tests, never collide in the global registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ApiMetrics:
    """The API's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "wattcast_api_requests_total",
            "HTTP requests answered, by route template, method and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "wattcast_api_request_duration_seconds",
            "Time to answer a request (to the first byte of an event stream), by route.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.submissions = Counter(
            "wattcast_api_submissions_total",
            "Submissions by outcome: created, or replayed (an existing TrainingJob returned).",
            ["outcome"],
            registry=self.registry,
        )
        self.kube_errors = Counter(
            "wattcast_api_kubernetes_errors_total",
            "Failed Kubernetes API calls by the HTTP status the API answered.",
            ["status"],
            registry=self.registry,
        )
        self.streams = Gauge(
            "wattcast_api_event_streams",
            "Server-sent-event streams open now.",
            registry=self.registry,
        )
