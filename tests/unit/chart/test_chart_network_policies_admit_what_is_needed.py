"""NetworkPolicies admit what wattcast needs and nothing more: Prometheus scrapes the API and
the operator, DNS goes to the cluster DNS pods, the API server is reached by its endpoints'
port (issue 13, item 2)."""

from __future__ import annotations

from typing import Any

from chart_render import render, render_text

ON = {"enabled": True}
MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
INGRESS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
KUBE_DNS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


def policies(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"].removeprefix("wattcast-"): o["spec"]
        for o in render(values)
        if o["kind"] == "NetworkPolicy"
    }


def test_prometheus_may_scrape_an_api_whose_clients_are_narrowed() -> None:
    spec = policies(
        {"networkPolicy": {**ON, "apiIngressFrom": [INGRESS], "metricsFrom": [MONITORING]}}
    )
    http = [{"port": "http", "protocol": "TCP"}]
    assert spec["api"]["ingress"] == [
        {"ports": http, "from": [INGRESS]},
        {"ports": http, "from": [MONITORING]},
    ]
    assert spec["operator"]["ingress"] == [
        {"ports": [{"port": "metrics", "protocol": "TCP"}], "from": [MONITORING]}
    ]


def test_an_open_api_port_needs_no_second_rule() -> None:
    spec = policies({"networkPolicy": {**ON, "metricsFrom": [MONITORING]}})
    assert spec["api"]["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]


def test_a_service_monitor_that_could_not_scrape_is_refused() -> None:
    done = render_text(
        {
            "networkPolicy": {**ON, "apiIngressFrom": [INGRESS]},
            "monitoring": {"serviceMonitor": {"enabled": True}},
        }
    )
    assert done.returncode != 0
    assert "networkPolicy.metricsFrom" in done.stderr


def test_dns_goes_to_the_cluster_dns_pods_only() -> None:
    for name, spec in policies({"networkPolicy": ON}).items():
        dns = spec["egress"][0]
        assert dns["to"] == [KUBE_DNS], name
        assert dns["ports"] == [
            {"port": 53, "protocol": "UDP"},
            {"port": 53, "protocol": "TCP"},
        ], name


def test_dns_elsewhere_is_a_value() -> None:
    local = [{"ipBlock": {"cidr": "169.254.20.10/32"}}]
    spec = policies({"networkPolicy": {**ON, "dns": {"ports": [5353], "to": local}}})
    dns = spec["operator"]["egress"][0]
    assert dns["to"] == local
    assert {p["port"] for p in dns["ports"]} == {5353}
    anywhere = policies({"networkPolicy": {**ON, "dns": {"to": []}}})["operator"]["egress"][0]
    assert "to" not in anywhere


def test_the_api_server_is_reached_by_its_endpoints_port() -> None:
    for name, spec in policies({"networkPolicy": ON}).items():
        api_server = spec["egress"][1]
        assert api_server == {
            "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]
        }, name
    cidr = {"networkPolicy": {**ON, "kubeApiServer": {"ports": [6443], "cidrs": ["172.18.0.2/32"]}}}
    api_server = policies(cidr)["trainer"]["egress"][1]
    assert api_server == {
        "ports": [{"port": 6443, "protocol": "TCP"}],
        "to": [{"ipBlock": {"cidr": "172.18.0.2/32"}}],
    }


def test_trainers_accept_nothing_and_reach_influxdb() -> None:
    trainer = policies({"networkPolicy": ON})["trainer"]
    assert "ingress" not in trainer and trainer["policyTypes"] == ["Ingress", "Egress"]
    assert trainer["egress"][2]["ports"] == [
        {"port": 8086, "protocol": "TCP"},
        {"port": 443, "protocol": "TCP"},
    ]
