"""Emulator conformance: discovery, version, health, Table and metadata-only output, events."""

from __future__ import annotations

from emulator_helpers import GROUP, PLURAL, VERSION, MakeTJ, Raw
from kubernetes import client

TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


def test_core_discovery_lists_v1_resources_with_short_names(raw: Raw) -> None:
    versions = raw.request("GET", "/api").json()
    assert versions["kind"] == "APIVersions" and versions["versions"] == ["v1"]
    resources = raw.request("GET", "/api/v1").json()
    assert resources["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in resources["resources"]}
    assert {
        "namespaces",
        "pods",
        "events",
        "secrets",
        "configmaps",
        "serviceaccounts",
        "persistentvolumeclaims",
        "pods/status",
    } <= set(by_name)
    assert by_name["configmaps"]["shortNames"] == ["cm"]
    assert by_name["namespaces"]["namespaced"] is False
    assert "watch" in by_name["pods"]["verbs"]


def test_api_group_list_contains_builtin_and_crd_groups(raw: Raw) -> None:
    groups = {g["name"]: g for g in raw.request("GET", "/apis").json()["groups"]}
    assert {"batch", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io", GROUP} <= set(
        groups
    )
    assert groups[GROUP]["preferredVersion"] == {
        "groupVersion": f"{GROUP}/{VERSION}",
        "version": VERSION,
    }


def test_crd_resource_discovery_has_names_categories_and_status(raw: Raw) -> None:
    listing = raw.request("GET", f"/apis/{GROUP}/{VERSION}").json()
    by_name = {r["name"]: r for r in listing["resources"]}
    tj = by_name[PLURAL]
    assert tj["kind"] == "TrainingJob" and tj["namespaced"] is True
    assert tj["shortNames"] == ["tj"] and tj["categories"] == ["wattcast"]
    assert tj["singularName"] == "trainingjob"
    assert by_name[f"{PLURAL}/status"]["verbs"] == ["get", "patch", "update"]


def test_version_endpoint(api_client: client.ApiClient) -> None:
    info = client.VersionApi(api_client).get_code()
    assert (info.major, info.minor) == ("1", "33")


def test_health_endpoints(raw: Raw) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        resp = raw.request("GET", path)
        assert resp.status_code == 200 and resp.text == "ok"


def test_table_output_uses_printer_columns(
    raw: Raw, custom: client.CustomObjectsApi, make_tj: MakeTJ, namespace: str
) -> None:
    name = make_tj(meterId="m-7", meterType="water")["metadata"]["name"]
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, name, {"status": {"phase": "Training", "progress": 42}}
    )
    table = raw.request("GET", raw.tj_path(namespace), headers=TABLE).json()
    assert table["kind"] == "Table"
    columns = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert columns == ["Name", "Meter", "Type", "Phase", "Progress", "Age"]
    cells = table["rows"][0]["cells"][:6]
    assert cells[:5] == [name, "m-7", "water", "Training", 42]
    assert cells[5].endswith("s")
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_table_output_for_single_object(raw: Raw, make_tj: MakeTJ, namespace: str) -> None:
    name = make_tj()["metadata"]["name"]
    table = raw.request("GET", raw.tj_path(namespace, name), headers=TABLE).json()
    assert table["kind"] == "Table"
    assert [r["cells"][0] for r in table["rows"]] == [name]


def test_partial_object_metadata_list(raw: Raw, make_tj: MakeTJ, namespace: str) -> None:
    name = make_tj()["metadata"]["name"]
    headers = {"Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"}
    listing = raw.request("GET", raw.tj_path(namespace), headers=headers).json()
    assert listing["kind"] == "PartialObjectMetadataList"
    assert [i["metadata"]["name"] for i in listing["items"]] == [name]
    assert "spec" not in listing["items"][0]


def test_events_can_be_created_with_generate_name_in_both_groups(
    api_client: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api_client)
    event = core.create_namespaced_event(
        namespace,
        {
            "metadata": {"generateName": "kopf-event-"},
            "involvedObject": {"kind": "TrainingJob", "name": "x", "namespace": namespace},
            "reason": "Logging",
            "message": "hello",
            "type": "Normal",
        },
    )
    assert event.metadata.name.startswith("kopf-event-")
    found = core.list_namespaced_event(namespace, field_selector="involvedObject.name=x")
    assert [e.metadata.name for e in found.items] == [event.metadata.name]
    modern = client.EventsV1Api(api_client).create_namespaced_event(
        namespace,
        {
            "metadata": {"generateName": "ev-"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "wattcast",
            "reportingInstance": "i",
            "action": "Train",
            "reason": "Started",
            "type": "Normal",
            "regarding": {"kind": "TrainingJob", "name": "x"},
        },
    )
    assert modern.metadata.name.startswith("ev-")
    selected = client.EventsV1Api(api_client).list_namespaced_event(
        namespace, field_selector="involvedObject.name=x,reason=Started"
    )
    assert [e.metadata.name for e in selected.items] == [modern.metadata.name]


def test_namespaces_list_and_watch_like_kopf(raw: Raw, namespace: str) -> None:
    listing = raw.request("GET", "/api/v1/namespaces").json()
    assert listing["kind"] == "NamespaceList"
    names = [n["metadata"]["name"] for n in listing["items"]]
    assert "default" in names and namespace in names
    ns = raw.request("GET", f"/api/v1/namespaces/{namespace}").json()
    assert ns["status"]["phase"] == "Active"
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == namespace


def test_leases_are_served(api_client: client.ApiClient, namespace: str) -> None:
    leases = client.CoordinationV1Api(api_client)
    lease = leases.create_namespaced_lease(
        namespace, {"metadata": {"name": "leader"}, "spec": {"holderIdentity": "me"}}
    )
    assert lease.spec.holder_identity == "me"


def test_openapi_v3_advertises_server_side_field_validation(raw: Raw) -> None:
    root = raw.request("GET", "/openapi/v3").json()["paths"]
    assert {"api/v1", f"apis/{GROUP}/{VERSION}", "apis/batch/v1"} <= set(root)
    doc = raw.request("GET", root[f"apis/{GROUP}/{VERSION}"]["serverRelativeURL"]).json()
    item = doc["paths"][f"/apis/{GROUP}/{VERSION}/namespaces/{{namespace}}/{PLURAL}/{{name}}"]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": GROUP,
        "version": VERSION,
        "kind": "TrainingJob",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    schema = doc["components"]["schemas"]["dev.wattcast.v1alpha1.TrainingJob"]
    assert schema["properties"]["spec"]["properties"]["meterId"]["maxLength"] == 128
