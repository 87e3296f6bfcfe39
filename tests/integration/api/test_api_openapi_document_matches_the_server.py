"""Schemathesis against the served OpenAPI document (`/openapi.json`) of the real app, with a
token, over real HTTP (the app served in this process, its Kubernetes client on the emulated
API server): every operation's documented parameters, bodies, statuses, headers and response
schemas must match what the server does, for generated valid and invalid requests alike.
Schemathesis must find nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from api_support import TOKEN, ServedApp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client
from schemathesis import GenerationMode

from wattcast.api.core.config import Settings
from wattcast.api.main import create_app
from wattcast.devtools.cluster.access import create_namespace, delete_namespace
from wattcast.devtools.cluster.chart import ChartIdentities

# Bounded: about a minute for the whole document on the development machine.
MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def served_api(
    api_kubeconfig: Path,
    chart_identities: ChartIdentities,
    kube: client.ApiClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    create_namespace(kube, namespace)
    chart_identities.grant(namespace, "api")
    sources = tmp_path_factory.mktemp("schemathesis") / "sources.yaml"
    sources.write_text(
        "- name: archive\n  url: http://influx-archive:8086\n  dialect: influxql\n"
        "  database: energy\n",
        encoding="utf-8",
    )
    served = ServedApp(
        Settings(
            api_tokens=TOKEN,
            api_kubeconfig=api_kubeconfig,
            api_namespace=namespace,
            influx_sources_file=sources,
            api_kube_timeout_seconds=10,
            api_watch_timeout_seconds=5,
            api_sse_ping_seconds=1,
        )
    ).start()
    try:
        yield served.url
    finally:
        served.stop()
        delete_namespace(kube, namespace)


_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' default
CONFIG = schemathesis.Config.from_dict(
    {
        # The token as the document's security scheme says: schemathesis also tries requests
        # without it (and expects 401) and knows which ones carry it.
        "auth": {"openapi": {"HTTPBearer": {"bearer": TOKEN}}},
        "operations": [
            # Rules between fields that JSON Schema cannot state (end after start and at most
            # 10 years later; priorityClass needs queueName; each request at most its limit)
            # and the sources the operator knows: a schema-valid spec may still be a 422,
            # which then names the field (the CRD refuses the same; see
            # tests/support/refused_specs.py).
            {
                "include-name": "POST /v1/trainingjobs",
                "checks": {"positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "422"]}},
            },
            {
                "include-name": "POST /trainmodel/v2/",
                "checks": {"positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "422"]}},
            },
            # The same for fleets, and `meters` takes exactly one of ids and discover, and a
            # pattern only in the regular expressions both RE2 and Python accept.
            {
                "include-name": "POST /v1/fleettrainingjobs",
                "checks": {"positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "422"]}},
            },
            # A `continue` token is opaque: only the API server can tell one it never issued
            # (400) or one that expired (410), as the document says.
            {
                "include-name": "GET /v1/trainingjobs",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "400", "410"]}
                },
            },
            {
                "include-name": "GET /v1/fleettrainingjobs",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "400", "410"]}
                },
            },
        ],
    }
)
# The document the app serves at /openapi.json (the first test checks that it is this one).
DOCUMENT = create_app().openapi()


def test_the_served_document_is_the_one_tested(served_api: str) -> None:
    assert httpx.get(f"{served_api}/openapi.json", timeout=30).json() == DOCUMENT


# The stream of all TrainingJobs never ends by itself: schemathesis reads an event stream
# until the request timeout, so it gets a few examples of its own with a short one.
ALL_EVENTS = "^/v1/events$"
EVERY_OTHER_OPERATION = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).exclude(
    path_regex=ALL_EVENTS
)
THE_EVENT_STREAM = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)["/v1/events"]["GET"]


@EVERY_OTHER_OPERATION.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_server_does_what_its_openapi_document_says(
    case: schemathesis.Case, served_api: str
) -> None:
    case.call_and_validate(base_url=served_api, timeout=30)


@given(
    case=st.one_of(
        THE_EVENT_STREAM.as_strategy(generation_mode=GenerationMode.POSITIVE),
        THE_EVENT_STREAM.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
)
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_event_stream_does_what_its_openapi_document_says(
    case: schemathesis.Case, served_api: str
) -> None:
    case.call_and_validate(base_url=served_api, timeout=3)
