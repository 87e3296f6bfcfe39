"""The Helm chart lints, renders for every value set, and every object it renders is valid.

Each value set (the defaults and each file in charts/wattcast/ci/) is rendered once with
`helm template` (CRD included) and every object is validated, strictly, against the Kubernetes
JSON schemas of kubernetes-validate for each Kubernetes minor version the chart supports (its
Chart.yaml kubeVersion, up to the newest schemas the package ships). Kinds that are not built
in (ServiceMonitor, Kueue's LocalQueue and WorkloadPriorityClass, Kopf's peerings) are checked
against the schemas of the CRDs that define them: the chart's own for Kopf, small schemas of
the fields we use for the others. Also: names fit 63 characters, every object carries the
standard labels, the CRD template's spec equals crds/trainingjob.yaml's, the settings handed
to the operator and API are exactly the agreed variables, and the sources file parses as the
contract's InfluxSource.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv_utils
import pytest
import yaml
from packaging.version import Version
from referencing import Registry, Resource

from wattcast.crd import generate
from wattcast.crd.trainingjob import InfluxSource

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "wattcast"
HELM = ROOT / ".venv" / "bin" / "helm"
NAMESPACE = "wattcast-system"
RELEASE = "wattcast"

KOPF_CRDS = {"kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev"}

VALUE_SETS = {
    "defaults": None,
    **{path.stem: path for path in sorted((CHART / "ci").glob("*-values.yaml"))},
}

# The operator's and API's settings (the names agreed across components).
OPERATOR_SETTINGS = {
    "WATTCAST_NAMESPACES",
    "WATTCAST_TRAINER_IMAGE",
    "WATTCAST_TRAINER_IMAGE_PULL_POLICY",
    "WATTCAST_TRAINER_IMAGE_PULL_SECRETS",
    "WATTCAST_MODELS_CLAIM",
    "WATTCAST_MODELS_SINGLE_NODE",
    "WATTCAST_TRAINER_RESOURCES",
    "WATTCAST_INFLUX_URL",
    "WATTCAST_INFLUX_DIALECT",
    "WATTCAST_INFLUX_ORG",
    "WATTCAST_INFLUX_BUCKET",
    "WATTCAST_INFLUX_DATABASE",
    "WATTCAST_INFLUX_TOKEN_SECRET",
    "WATTCAST_INFLUX_SOURCES_FILE",
    "WATTCAST_DEFAULT_BACKOFF_LIMIT",
    "WATTCAST_TRAININGJOB_RETENTION_SECONDS",
    "WATTCAST_METRICS_PORT",
    "WATTCAST_HEALTH_PORT",
    "WATTCAST_LOG_FORMAT",
    "WATTCAST_WATCH_SERVER_TIMEOUT",
    "WATTCAST_WATCH_CLIENT_TIMEOUT",
    "WATTCAST_PEERING",
}
API_SETTINGS = {
    # The source of forecasts, as the seed's variables (wattcast.forecasting.settings).
    "INFLUX_URL",
    "INFLUX_DIALECT",
    "INFLUX_ORG",
    "INFLUX_BUCKET",
    "INFLUX_DATABASE",
    "WATTCAST_API_TOKENS",
    "WATTCAST_API_TOKENS_FILE",
    "WATTCAST_API_AUTH_DISABLED",
    "WATTCAST_API_NAMESPACE",
    "WATTCAST_API_NAMESPACES",
    "WATTCAST_API_MAX_BODY_BYTES",
    "WATTCAST_API_HEADER_TIMEOUT_SECONDS",
    "WATTCAST_API_KEEP_ALIVE_SECONDS",
    "WATTCAST_API_BODY_TIMEOUT_SECONDS",
    "WATTCAST_API_MAX_HEADER_BYTES",
    "WATTCAST_API_MAX_CONNECTIONS",
    "WATTCAST_API_MAX_REQUESTS",
    "WATTCAST_INFLUX_SOURCES_FILE",
    "WATTCAST_INFLUX_URL",
    # The dashboard reads model metadata from the store (api/src/wattcast/api/dashboard).
    "WATTCAST_MODELS_DIR",
}

STANDARD_LABELS = (
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
)


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, check=False)


def render(values_file: Path | None, *set_values: str) -> list[dict[str, Any]]:
    """`helm template` the chart into a list of objects, its crds/ folder included, as
    `helm install` applies them; fails the test on a render error."""
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--include-crds"]
    if values_file is not None:
        args += ["--values", str(values_file)]
    for value in set_values:
        args += ["--set", value]
    result = helm(*args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@functools.cache
def rendered(value_set: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(VALUE_SETS[value_set]))


def supported_versions() -> list[str]:
    """Minor versions from the chart's kubeVersion floor to the newest schemas shipped."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    match = re.fullmatch(r">=\s*(\d+\.\d+)\.\d+(-0)?", chart["kubeVersion"])
    assert match, f"unexpected kubeVersion {chart['kubeVersion']!r}"
    floor = Version(match.group(1))
    versions = sorted({kv_utils.major_minor(v) for v in kv_utils.all_versions()}, key=Version)
    return [v for v in versions if Version(v) >= floor]


@functools.cache
def builtin_validator(version: str, api_version: str, kind: str) -> jsonschema.Validator | None:
    """A strict validator from kubernetes-validate's schemas; None when the kind is not built in."""
    schema_dir = f"kubernetes-json-schema/v{version}.0-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv_utils.schema_contents(
            f"{schema_dir}/{kind.lower()}-{group_version}.json", version
        )
    except FileNotFoundError:
        return None
    definitions = kv_utils.schema_contents(f"{schema_dir}/_definitions.json", version)
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _strict(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "required": required or [],
    }


_META = {"type": "object"}  # ObjectMeta is checked by the built-in kinds and test_names_*.
_LABEL_SELECTOR = _strict({"matchLabels": {"type": "object"}})
# The fields of the CRD-defined kinds the chart uses, from their projects' CRDs.
CUSTOM_KIND_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _strict(
        {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": _META,
            "spec": _strict(
                {
                    "selector": _LABEL_SELECTOR,
                    "namespaceSelector": _strict(
                        {"matchNames": {"type": "array", "items": {"type": "string"}}}
                    ),
                    "endpoints": {
                        "type": "array",
                        "minItems": 1,
                        "items": _strict(
                            {
                                "port": {"type": "string"},
                                "path": {"type": "string", "pattern": "^/"},
                                "interval": {"type": "string", "pattern": "^([0-9]+(ms|s|m|h))+$"},
                                "scrapeTimeout": {
                                    "type": "string",
                                    "pattern": "^([0-9]+(ms|s|m|h))+$",
                                },
                            },
                            ["port"],
                        ),
                    },
                },
                ["selector", "endpoints"],
            ),
        },
        ["apiVersion", "kind", "metadata", "spec"],
    ),
    ("kueue.x-k8s.io/v1beta2", "LocalQueue"): _strict(
        {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": _META,
            "spec": _strict({"clusterQueue": {"type": "string", "maxLength": 253}}),
        },
        ["apiVersion", "kind", "metadata", "spec"],
    ),
    ("kueue.x-k8s.io/v1beta2", "WorkloadPriorityClass"): _strict(
        {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": _META,
            "value": {"type": "integer"},
            "description": {"type": "string", "maxLength": 2048},
        },
        ["apiVersion", "kind", "metadata", "value"],
    ),
}


def custom_kind_schema(objects: list[dict[str, Any]], obj: dict[str, Any]) -> dict[str, Any]:
    """The schema of a CRD-defined kind: a CRD rendered alongside, or a known schema."""
    group = obj["apiVersion"].split("/")[0]
    for crd in objects:
        if crd["kind"] != "CustomResourceDefinition":
            continue
        if crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == obj["kind"]:
            (version,) = crd["spec"]["versions"]
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    key = (obj["apiVersion"], obj["kind"])
    assert key in CUSTOM_KIND_SCHEMAS, f"no schema known for {key}"
    return CUSTOM_KIND_SCHEMAS[key]


def object_id(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata'].get('namespace', '-')}/{obj['metadata']['name']}"


def test_chart_lints_clean_for_every_value_set() -> None:
    for name, values_file in VALUE_SETS.items():
        args = ["lint", "--strict", str(CHART)]
        if values_file is not None:
            args += ["--values", str(values_file)]
        result = helm(*args)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
        assert "0 chart(s) failed" in result.stdout


def test_supported_versions_start_at_the_charts_floor_and_include_1_33() -> None:
    versions = supported_versions()
    assert versions[0] == "1.32"
    assert "1.33" in versions


def test_chart_refuses_a_kubernetes_version_below_its_floor() -> None:
    result = helm("template", RELEASE, str(CHART), "--kube-version", "1.31.0")
    assert result.returncode != 0
    assert "kubeVersion" in result.stderr or "1.32" in result.stderr


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def test_every_rendered_object_is_valid_for_every_supported_kubernetes(value_set: str) -> None:
    objects = list(rendered(value_set))
    assert any(o["kind"] == "CustomResourceDefinition" for o in objects)
    checked_builtin = 0
    for obj in objects:
        validators = [
            builtin_validator(v, obj["apiVersion"], obj["kind"]) for v in supported_versions()
        ]
        if all(v is None for v in validators):
            schema = custom_kind_schema(objects, obj)
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(obj))
            assert not errors, f"{object_id(obj)}: {[e.message for e in errors]}"
            continue
        for version, validator in zip(supported_versions(), validators, strict=True):
            assert validator is not None, f"{object_id(obj)} unknown to Kubernetes {version}"
            errors = list(validator.iter_errors(obj))
            assert not errors, (
                f"{object_id(obj)} invalid for Kubernetes {version}: "
                f"{[(list(e.absolute_path), e.message) for e in errors]}"
            )
        checked_builtin += 1
    assert checked_builtin >= 15


def test_validation_catches_an_invalid_object() -> None:
    """The validator is strict: an unknown field in a Deployment fails (the checks can fail)."""
    deployment = next(o for o in rendered("defaults") if o["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    validator = builtin_validator("1.33", "apps/v1", "Deployment")
    assert validator is not None
    assert list(validator.iter_errors(broken))


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def test_names_fit_63_characters_and_objects_carry_standard_labels(value_set: str) -> None:
    for obj in rendered(value_set):
        name = obj["metadata"]["name"]
        if name in KOPF_CRDS:
            continue  # crds/ is not templated (test_kopf_peering_crds_install_before_templates)
        assert len(name) <= 63 or obj["kind"] == "CustomResourceDefinition", name
        labels = obj["metadata"].get("labels", {})
        for label in STANDARD_LABELS:
            assert label in labels, f"{object_id(obj)} lacks {label}"
        assert labels["app.kubernetes.io/instance"] == RELEASE
    names = [
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in rendered(value_set)
    ]
    assert len(names) == len(set(names)), "two objects share a kind, namespace and name"


def test_long_fullname_is_cut_and_component_suffixes_survive() -> None:
    objects = rendered("kueue-custom-images-values")
    deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    assert all(len(n) <= 63 for n in deployments)
    assert {n.rsplit("-", 1)[1] for n in deployments} == {"operator", "api"}


@pytest.mark.parametrize(
    ("file", "generated"),
    [("trainingjob.yaml", generate.crd), ("fleettrainingjob.yaml", generate.fleet_crd)],
)
def test_chart_crd_spec_equals_the_generated_crd(file: str, generated: Any) -> None:
    checked_in = yaml.safe_load((ROOT / "crds" / file).read_text())
    (chart_crd,) = [
        o
        for o in rendered("defaults")
        if o["kind"] == "CustomResourceDefinition"
        and o["metadata"]["name"] == checked_in["metadata"]["name"]
    ]
    assert chart_crd["spec"] == checked_in["spec"]
    assert chart_crd["spec"] == generated()["spec"]
    assert chart_crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_crds_enabled_false_leaves_the_crd_out() -> None:
    objects = render(None, "crds.enabled=false")
    crds = {o["metadata"]["name"] for o in objects if o["kind"] == "CustomResourceDefinition"}
    assert crds == KOPF_CRDS


def test_kopf_peering_crds_install_before_templates() -> None:
    """Peering in one release: Kopf's CRDs are in crds/ (installed before any template, so the
    peering objects map), plain YAML, and define exactly the kinds the templates use."""
    folder = CHART / "crds"
    assert sorted(p.name for p in folder.iterdir()) == ["kopf-peering.yaml"]
    text = (folder / "kopf-peering.yaml").read_text()
    assert "{{" not in text  # Helm does not template crds/
    crds = [doc for doc in yaml.safe_load_all(text) if doc]
    assert {c["metadata"]["name"] for c in crds} == KOPF_CRDS
    scopes = {c["spec"]["names"]["kind"]: c["spec"]["scope"] for c in crds}
    assert scopes == {"KopfPeering": "Namespaced", "ClusterKopfPeering": "Cluster"}
    templates = [o for o in render(None, "operator.peering.enabled=true") if o["kind"] in scopes]
    assert templates and all(o["apiVersion"] == "kopf.dev/v1" for o in templates)
    # Without --include-crds (what `helm template` alone and --skip-crds give) they are not
    # templates: nothing of them is left in templates/.
    plain = subprocess.run(
        [str(HELM), "template", RELEASE, str(CHART), "--set", "operator.peering.enabled=true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "kind: CustomResourceDefinition\nmetadata:\n  name: kopfpeerings" not in plain


def _config_map(objects: list[dict[str, Any]], suffix: str) -> dict[str, str]:
    (config_map,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith(suffix)
    ]
    data: dict[str, str] = config_map["data"]
    return data


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def test_operator_and_api_get_only_agreed_settings(value_set: str) -> None:
    objects = list(rendered(value_set))
    operator = _config_map(objects, "-operator")
    assert set(operator) <= OPERATOR_SETTINGS, set(operator) - OPERATOR_SETTINGS
    assert all(value != "" for key, value in operator.items() if key != "WATTCAST_NAMESPACES")
    api = _config_map(objects, "-api")
    assert set(api) <= API_SETTINGS, set(api) - API_SETTINGS
    assert api["WATTCAST_API_NAMESPACE"] in api["WATTCAST_API_NAMESPACES"].split(",")


def test_settings_follow_the_values() -> None:
    objects = list(rendered("existing-secrets-and-claim-values"))
    operator = _config_map(objects, "-operator")
    assert operator["WATTCAST_NAMESPACES"] == "energy,water"
    assert operator["WATTCAST_MODELS_CLAIM"] == "shared-models"
    assert operator["WATTCAST_INFLUX_TOKEN_SECRET"] == "influx-token/token"
    assert "WATTCAST_TRAINER_SERVICE_ACCOUNT" not in operator  # each trainer has its own
    assert operator["WATTCAST_TRAINER_IMAGE_PULL_SECRETS"] == "registry-credentials"
    assert operator["WATTCAST_TRAINER_IMAGE"] == "ghcr.io/wattcast/wattcast-trainer:0.1.0"
    api = _config_map(objects, "-api")
    assert api["WATTCAST_API_NAMESPACE"] == "water"
    assert api["WATTCAST_API_TOKENS_FILE"] == "/etc/wattcast/api-tokens/tokens.txt"
    assert not [o for o in objects if o["kind"] == "PersistentVolumeClaim"]

    kueue = list(rendered("kueue-custom-images-values"))
    operator = _config_map(kueue, "-operator")
    assert operator["WATTCAST_NAMESPACES"] == ""  # cluster-wide
    assert (
        operator["WATTCAST_TRAINER_IMAGE"]
        == "registry.example.com/platform/wattcast-trainer:0.1.0-gpu"
    )
    assert operator["WATTCAST_PEERING"]
    (deployment,) = [
        o
        for o in kueue
        if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-operator")
    ]
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("registry.example.com/platform/wattcast-operator@sha256:")


def test_sources_file_parses_as_the_contracts_influx_sources() -> None:
    objects = list(rendered("existing-secrets-and-claim-values"))
    sources = yaml.safe_load(_config_map(objects, "-sources")["sources.yaml"])
    parsed = [InfluxSource.model_validate(source) for source in sources]
    assert [s.name for s in parsed] == ["legacy", "open-data"]
    assert parsed[0].token_secret is not None and parsed[0].token_secret.key == "credentials"
    path = _config_map(objects, "-operator")["WATTCAST_INFLUX_SOURCES_FILE"]
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert str(Path(path).parent) in mounts


def test_model_claim_access_mode_and_keep_policy_follow_the_values() -> None:
    (claim,) = [o for o in rendered("defaults") if o["kind"] == "PersistentVolumeClaim"]
    # What every default StorageClass offers (docs/deploying.md, Model storage).
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    (claim,) = [
        o for o in rendered("kueue-custom-images-values") if o["kind"] == "PersistentVolumeClaim"
    ]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    assert "annotations" not in claim["metadata"]


@pytest.mark.parametrize(
    ("set_values", "message"),
    [
        (("operator.replicaCount=2",), "peering"),
        (("api.defaultNamespace=elsewhere",), "api.defaultNamespace"),
        (("operator.watch.clientTimeout=100",), "clientTimeout"),
        (
            (
                "influx.sources[0].name=a",
                "influx.sources[0].url=http://a:8086",
                "influx.sources[0].bucket=x",
                "influx.sources[1].name=a",
                "influx.sources[1].url=http://b:8086",
                "influx.sources[1].bucket=y",
            ),
            "used twice",
        ),
    ],
    ids=[
        "replicas-without-peering",
        "default-namespace-not-served",
        "client-timeout",
        "dup-source",
    ],
)
def test_inconsistent_values_fail_with_a_clear_message(
    set_values: tuple[str, ...], message: str
) -> None:
    args = ["template", RELEASE, str(CHART)]
    for value in set_values:
        args += ["--set", value]
    result = helm(*args)
    assert result.returncode != 0
    assert message in result.stderr


def test_notes_tell_the_next_commands() -> None:
    result = helm(
        "install",
        RELEASE,
        str(CHART),
        "--dry-run=client",
        "--namespace",
        NAMESPACE,
        "--values",
        str(VALUE_SETS["existing-secrets-and-claim-values"]),
    )
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "kubectl -n energy apply -f examples/meter1-electricity.yaml" in notes
    assert "get tj -w" in notes
    assert "create secret generic influx-legacy --from-literal=credentials=" in notes
    assert "port-forward svc/wattcast-api" in notes


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS), ids=sorted(VALUE_SETS))
def test_rendered_settings_parse_as_the_components_settings(
    value_set: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the chart passes is what the operator's and the API's settings models accept.

    The files the pods mount (the sources ConfigMap, the tokens Secret) are laid out under
    tmp_path at the mounted paths.
    """
    from wattcast.api.core.config import Settings as ApiSettings
    from wattcast.operator.settings import OperatorSettings
    from wattcast.operator.sources import configured_sources

    objects = list(rendered(value_set))
    for component, model in (("-operator", OperatorSettings), ("-api", ApiSettings)):
        with monkeypatch.context() as env:
            for key in [k for k in os.environ if k.startswith("WATTCAST_")]:
                env.delenv(key)
            data = _config_map(objects, component)
            for key, value in data.items():
                if key.endswith("_FILE"):
                    mounted = tmp_path / value.lstrip("/")
                    mounted.parent.mkdir(parents=True, exist_ok=True)
                    if key == "WATTCAST_INFLUX_SOURCES_FILE":
                        mounted.write_text(_config_map(objects, "-sources")["sources.yaml"])
                    else:
                        mounted.write_text("token-for-a-test\n")
                    value = str(mounted)
                env.setenv(key, value)
            settings = model()
            if component == "-operator":
                assert isinstance(settings, OperatorSettings)
                assert settings.models_claim == data["WATTCAST_MODELS_CLAIM"]
                assert settings.trainer_image == data["WATTCAST_TRAINER_IMAGE"]
                # The operator reads the mounted sources file as the chart wrote it.
                values = (
                    yaml.safe_load(VALUE_SETS[value_set].read_text())
                    if VALUE_SETS[value_set]
                    else {}
                )
                influx = values.get("influx", {})
                expected = {s["name"] for s in influx.get("sources", [])}
                if influx.get("default", {}).get("url"):
                    expected.add("default")
                assert set(configured_sources(settings)) == expected
            else:
                assert isinstance(settings, ApiSettings)
                assert settings.api_namespace == data["WATTCAST_API_NAMESPACE"]


EXTRA_COMBINATIONS = {
    "api-disabled": ("api.enabled=false", "networkPolicy.enabled=true"),
    "auth-disabled": ("api.authDisabled=true", "api.mountModels=false"),
    "namespaced-peering": (
        "operator.peering.enabled=true",
        "operator.replicaCount=3",
        "operator.podDisruptionBudget.enabled=true",
        "trainingNamespaces={a,b}",
    ),
    "cluster-wide-standalone": ("operator.clusterWide=true",),
    "image-pull-secrets": ("imagePullSecrets[0].name=registry-a", "imagePullSecrets[1].name=b"),
    "no-crds-existing-peering-crds": ("crds.enabled=false", "operator.peering.enabled=true"),
}


@pytest.mark.parametrize("combination", sorted(EXTRA_COMBINATIONS), ids=sorted(EXTRA_COMBINATIONS))
def test_other_value_combinations_render_valid_objects(combination: str) -> None:
    objects = render(None, *EXTRA_COMBINATIONS[combination])
    for obj in objects:
        validator = builtin_validator("1.33", obj["apiVersion"], obj["kind"])
        if validator is None:
            schema = custom_kind_schema(objects, obj) if obj["apiVersion"] != "kopf.dev/v1" else {}
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(obj))
        else:
            errors = list(validator.iter_errors(obj))
        assert not errors, f"{object_id(obj)}: {[e.message for e in errors]}"
    kinds = [o["kind"] for o in objects]
    if combination == "api-disabled":
        assert "Service" in kinds and not [
            o for o in objects if o["metadata"]["name"].endswith("-api")
        ]
    if combination == "auth-disabled":
        api = _config_map(objects, "-api")
        assert api["WATTCAST_API_AUTH_DISABLED"] == "true"
        assert "WATTCAST_API_TOKENS_FILE" not in api
    if combination == "namespaced-peering":
        peerings = [o for o in objects if o["kind"] == "KopfPeering"]
        assert sorted(o["metadata"]["namespace"] for o in peerings) == ["a", "b"]
        assert kinds.count("PodDisruptionBudget") == 2
    if combination == "cluster-wide-standalone":
        assert "ClusterRole" in kinds and "ServiceAccount" in kinds
    # The chart makes no trainer ServiceAccount anywhere: the operator makes one per job.
    assert not [
        o
        for o in objects
        if o["metadata"]["name"].endswith("-trainer") and o["kind"] == "ServiceAccount"
    ]
    if combination == "image-pull-secrets":
        operator = _config_map(objects, "-operator")
        assert operator["WATTCAST_TRAINER_IMAGE_PULL_SECRETS"] == "registry-a,b"
    if combination == "no-crds-existing-peering-crds":
        # Only Kopf's, from crds/ (which `helm install --skip-crds` leaves out).
        crds = {o["metadata"]["name"] for o in objects if o["kind"] == "CustomResourceDefinition"}
        assert crds == {"kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev"}
        assert "KopfPeering" in kinds


def test_network_policies_admit_only_what_each_pod_serves() -> None:
    policies = {
        o["metadata"]["name"].rsplit("-", 1)[1]: o["spec"]
        for o in rendered("ingress-monitoring-networkpolicy-values")
        if o["kind"] == "NetworkPolicy"
    }
    assert set(policies) == {"operator", "api", "trainer", "forecasts"}
    for spec in policies.values():
        assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert [p["port"] for p in policies["operator"]["ingress"][0]["ports"]] == ["metrics"]
    assert [p["port"] for p in policies["api"]["ingress"][0]["ports"]] == ["http"]
    assert "ingress" not in policies["trainer"]  # trainer pods serve nothing
    assert policies["trainer"]["podSelector"]["matchExpressions"] == [
        {"key": "wattcast.dev/trainingjob", "operator": "Exists"}
    ]
    trainer_ports = {p["port"] for rule in policies["trainer"]["egress"] for p in rule["ports"]}
    assert trainer_ports == {53, 443, 6443, 8086}
    operator_ports = {p["port"] for rule in policies["operator"]["egress"] for p in rule["ports"]}
    assert operator_ports == {53, 443, 6443}
    assert "ingress" not in policies["forecasts"]  # forecast runs serve nothing
    for name in ("api", "forecasts"):  # both read InfluxDB (forecasts)
        ports = {p["port"] for rule in policies[name]["egress"] for p in rule["ports"]}
        assert ports == {53, 443, 6443, 8086}, name


def test_the_forecast_cronjob_writes_back_with_its_own_token() -> None:
    objects = list(rendered("ingress-monitoring-networkpolicy-values"))
    (cronjob,) = [o for o in objects if o["kind"] == "CronJob"]
    assert cronjob["spec"]["schedule"] == "15 * * * *"
    assert cronjob["spec"]["timeZone"] == "Europe/Berlin"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["command"] == [
        "wattcast-forecast", "--models-dir", "/models", "--all", "--write-back", "--hours", "24",
    ]  # fmt: skip
    env = {e["name"]: e for e in container["env"]}
    assert env["INFLUX_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "influx-write-token",
        "key": "token",
    }
    assert env["INFLUX_URL"]["value"] == "http://influxdb.monitoring:8086"
    assert env["INFLUX_BUCKET"]["value"] == "energy_data"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True


def test_no_cronjob_by_default_and_none_without_a_default_source() -> None:
    assert not [o for o in rendered("defaults") if o["kind"] == "CronJob"]
    result = helm("template", RELEASE, str(CHART), "--set", "forecasts.enabled=true")
    assert result.returncode != 0
    assert "forecasts.enabled needs influx.default.url" in result.stderr
