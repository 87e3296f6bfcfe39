"""Emulator conformance: watches (initial state, resume, 410, timeout, bookmarks, selectors)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from emulator_helpers import GROUP, PLURAL, VERSION, MakeTJ, unique
from kubernetes import client, watch

from wattcast.devtools.emulator.fixtures import RunningEmulator


def _stream(url: str, params: dict[str, str], timeout: float = 10) -> Iterator[dict[str, Any]]:
    with requests.get(url, params={"watch": "true", **params}, stream=True, timeout=timeout) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line:
                yield json.loads(line)


def _later(delay: float, fn: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), fn()), daemon=True)
    thread.start()
    return thread


def test_watch_without_resource_version_starts_with_added_events(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    names = sorted(make_tj()["metadata"]["name"] for _ in range(2))
    seen = [
        (e["type"], e["object"]["metadata"]["name"])
        for e in watch.Watch().stream(
            custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            timeout_seconds=1,
        )
    ]
    assert seen == [("ADDED", n) for n in names]


def test_watch_from_resource_version_replays_later_changes(
    custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    make_tj()
    listing = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    later = make_tj()["metadata"]["name"]
    seen = [
        (e["type"], e["object"]["metadata"]["name"])
        for e in watch.Watch().stream(
            custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            resource_version=listing["metadata"]["resourceVersion"],
            timeout_seconds=1,
        )
    ]
    assert seen == [("ADDED", later)]


def test_watch_reports_modified_and_deleted(
    core: client.CoreV1Api, emulator: RunningEmulator, namespace: str
) -> None:
    name = unique("cm")
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version

    def change() -> None:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name}})
        core.patch_namespaced_config_map(name, namespace, {"data": {"a": "b"}})
        core.delete_namespaced_config_map(name, namespace)

    _later(0.2, change)
    url = f"{emulator.url}/api/v1/namespaces/{namespace}/configmaps"
    types = [e["type"] for e in _stream(url, {"resourceVersion": rv, "timeoutSeconds": "2"})]
    assert types == ["ADDED", "MODIFIED", "DELETED"]


def test_watch_with_too_old_resource_version_is_410(fresh_emulator: Any) -> None:
    emu: RunningEmulator = fresh_emulator(history_size=5, with_trainingjob_crd=False)
    base = f"{emu.url}/api/v1/namespaces/default/configmaps"
    for i in range(10):
        requests.post(base, json={"metadata": {"name": f"c{i}"}}, timeout=10).raise_for_status()
    events = list(_stream(base, {"resourceVersion": "2", "timeoutSeconds": "2"}))
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"


def test_kubernetes_client_raises_410_for_expired_watch(
    fresh_emulator: Any,
) -> None:
    emu: RunningEmulator = fresh_emulator(history_size=3, with_trainingjob_crd=False)
    from kubernetes import config

    api = config.new_client_from_config(str(emu.kubeconfig_path))
    core = client.CoreV1Api(api)
    for i in range(6):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
    with pytest.raises(client.ApiException) as caught:
        for _ in watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=2
        ):
            pass
    assert caught.value.status == 410
    api.close()


def test_watch_honours_timeout_seconds(emulator: RunningEmulator, namespace: str) -> None:
    started = time.monotonic()
    list(
        _stream(
            f"{emulator.url}/api/v1/namespaces/{namespace}/configmaps",
            {"timeoutSeconds": "1", "resourceVersion": "1"},
        )
    )
    assert 0.9 <= time.monotonic() - started < 3


def test_watch_sends_bookmarks_when_allowed(fresh_emulator: Any) -> None:
    emu: RunningEmulator = fresh_emulator(bookmark_interval_s=0.2, with_trainingjob_crd=False)
    url = f"{emu.url}/api/v1/namespaces/default/configmaps"
    rv = requests.get(url, timeout=10).json()["metadata"]["resourceVersion"]
    with_bookmarks = list(
        _stream(url, {"resourceVersion": rv, "timeoutSeconds": "1", "allowWatchBookmarks": "true"})
    )
    assert with_bookmarks and all(e["type"] == "BOOKMARK" for e in with_bookmarks)
    assert with_bookmarks[0]["object"]["kind"] == "ConfigMap"
    assert int(with_bookmarks[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)
    without = list(_stream(url, {"resourceVersion": rv, "timeoutSeconds": "1"}))
    assert without == []


def test_watch_with_label_selector_reports_leaving_as_deleted(
    core: client.CoreV1Api, emulator: RunningEmulator, namespace: str
) -> None:
    name = unique("cm")
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": name, "labels": {"pick": "yes"}}}
    )
    core.create_namespaced_config_map(namespace, {"metadata": {"name": unique("other")}})
    _later(
        0.3,
        lambda: core.patch_namespaced_config_map(
            name, namespace, {"metadata": {"labels": {"pick": "no"}}}
        ),
    )
    url = f"{emulator.url}/api/v1/namespaces/{namespace}/configmaps"
    seen = [
        (e["type"], e["object"]["metadata"]["name"])
        for e in _stream(url, {"labelSelector": "pick=yes", "timeoutSeconds": "1"})
    ]
    assert seen == [("ADDED", name), ("DELETED", name)]


def test_watch_with_field_selector_on_name(
    core: client.CoreV1Api, emulator: RunningEmulator, namespace: str
) -> None:
    wanted, other = unique("cm"), unique("cm")
    for n in (wanted, other):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": n}})
    url = f"{emulator.url}/api/v1/namespaces/{namespace}/configmaps"
    seen = [
        e["object"]["metadata"]["name"]
        for e in _stream(url, {"fieldSelector": f"metadata.name={wanted}", "timeoutSeconds": "1"})
    ]
    assert seen == [wanted]


def test_cluster_wide_watch_sees_all_namespaces(
    core: client.CoreV1Api, emulator: RunningEmulator, namespace: str
) -> None:
    marker = unique("m")
    other = unique("ns")
    core.create_namespace({"metadata": {"name": other}})
    try:
        for ns in (namespace, other):
            core.create_namespaced_config_map(
                ns, {"metadata": {"name": "w", "labels": {"m": marker}}}
            )
        url = f"{emulator.url}/api/v1/configmaps"
        seen = sorted(
            e["object"]["metadata"]["namespace"]
            for e in _stream(url, {"labelSelector": f"m={marker}", "timeoutSeconds": "1"})
        )
        assert seen == sorted([namespace, other])
    finally:
        core.delete_namespace(other)


def test_watch_as_table_streams_table_rows(
    make_tj: MakeTJ, emulator: RunningEmulator, namespace: str
) -> None:
    name = make_tj()["metadata"]["name"]
    url = f"{emulator.url}/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    headers = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
    with requests.get(
        url,
        params={"watch": "true", "timeoutSeconds": "1"},
        headers=headers,
        stream=True,
        timeout=10,
    ) as resp:
        events = [json.loads(line) for line in resp.iter_lines() if line]
    assert events[0]["object"]["kind"] == "Table"
    assert events[0]["object"]["rows"][0]["cells"][0] == name


def test_watch_ends_when_its_crd_is_deleted(fresh_emulator: Any) -> None:
    emu: RunningEmulator = fresh_emulator()
    crd_url = f"{emu.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    _later(0.3, lambda: requests.delete(f"{crd_url}/{PLURAL}.{GROUP}", timeout=10))
    started = time.monotonic()
    url = f"{emu.url}/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}"
    assert list(_stream(url, {"timeoutSeconds": "20"})) == []
    assert time.monotonic() - started < 10
