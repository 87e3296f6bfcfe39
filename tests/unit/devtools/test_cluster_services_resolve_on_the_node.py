"""The process kubelet's stand-in for cluster DNS: each pod's /etc/hosts names the Services of
its namespace as the node's loopback, since every pod shares the machine's network."""

from __future__ import annotations

from wattcast.devtools.cluster.podworker import _hosts_file, service_hostnames


def test_every_dns_name_of_a_service_in_the_namespace() -> None:
    assert service_hostnames("energy", ["wattcast-api"]) == [
        "wattcast-api",
        "wattcast-api.energy",
        "wattcast-api.energy.svc",
        "wattcast-api.energy.svc.cluster.local",
    ]


def test_the_hosts_file_maps_the_services_to_loopback() -> None:
    pod = {"metadata": {"name": "p", "namespace": "energy"}, "spec": {}}
    lines = _hosts_file(pod, ["b", "a"]).splitlines()
    assert "127.0.0.1\tp" in lines
    assert lines[-1] == (
        "127.0.0.1\ta a.energy a.energy.svc a.energy.svc.cluster.local "
        "b b.energy b.energy.svc b.energy.svc.cluster.local"
    )


def test_without_services_the_hosts_file_is_the_pods_own() -> None:
    pod = {"metadata": {"name": "p", "namespace": "energy"}, "spec": {}}
    assert _hosts_file(pod, []) == _hosts_file(pod)
    assert "svc" not in _hosts_file(pod)
