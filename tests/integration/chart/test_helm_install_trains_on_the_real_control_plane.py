"""`helm install` of charts/wattcast, end to end on the real control plane (issue 13, item 5).

The chart is installed with its real templates by the project's helm into a fresh namespace
of the session dev cluster; the real Deployment and ReplicaSet controllers make the operator's
and the API's pods, the process kubelet runs them under the ServiceAccounts the chart made.
Then the seed's example, `kubectl apply -f examples/meter1-electricity.yaml`, trains on a real
InfluxDB 2 and ends Succeeded (and is refused, naming the operator's namespaces, in a namespace
the operator does not watch); `helm test` checks the install; `helm upgrade` and
`helm uninstall` keep the CRD, the TrainingJob and the model store, as docs/deploying.md says.

The session cluster's CRD was applied with kubectl before any release existed, so the install
takes it over (`--take-ownership`) as it would one a platform team applied first; the chart's
CRD template then owns it and keeps it on uninstall (the session's other tests still need it).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chart_support import CHART, CRD, RELEASE, Tools, pod_logs, values_file, wait_for

from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.devtools.processes import free_port, repo_root
from wattcast.devtools.testbed.fixtures import Influx2Bucket, SyntheticMeterFactory
from wattcast.devtools.testbed.influx import write_meter_v2
from wattcast.devtools.testbed.instance import RunningInflux

pytestmark = pytest.mark.slow

EXAMPLE = repo_root() / "examples" / "meter1-electricity.yaml"
EXAMPLE_NAME = "meter1-electricity-2023"
# Six weeks of meter1 at the end of the example's range (2023): the least the default model
# trains on (36 days after cleaning), quick on 2 cores.
DATA_START = datetime(2023, 11, 17, tzinfo=UTC)
DATA_DAYS = 44


def _values(influx2: RunningInflux, bucket: Influx2Bucket) -> dict[str, Any]:
    """The install's values: the test bed's InfluxDB, and free ports, since every pod of the
    process kubelet shares this machine's network (two API replicas would share one port)."""
    api_port = free_port()
    return {
        "influx": {
            "default": {
                "url": influx2.connection.url,
                "dialect": "flux",
                "org": influx2.connection.org,
                "bucket": bucket.name,
                "tokenSecret": {"name": "influx-token", "key": "token"},
            }
        },
        "operator": {"metricsPort": free_port(), "healthPort": free_port(), "logFormat": "plain"},
        "api": {"replicaCount": 1, "containerPort": api_port, "service": {"port": api_port}},
    }


@pytest.fixture
def cluster_objects_removed(devcluster: DevCluster, namespace: str) -> Iterator[None]:
    """The release's cluster-scoped objects go even when a test stops before `helm uninstall`:
    its ValidatingAdmissionPolicy would refuse the session's other tests' TrainingJobs."""
    yield
    Tools(devcluster.kubeconfig, namespace).kubectl(
        "delete",
        "validatingadmissionpolicies,validatingadmissionpolicybindings",
        "-l",
        f"app.kubernetes.io/instance={RELEASE}",
        "--ignore-not-found",
    )


def _refused_elsewhere(devcluster: DevCluster, namespace: str) -> str | None:
    """`kubectl apply` of the example in a namespace the operator does not watch: the API
    server's answer once the release's admission policy is in force (it is loaded a moment
    after its creation), else None (a TrainingJob that slipped in meanwhile is deleted)."""
    elsewhere = Tools(devcluster.kubeconfig, "default")
    applied = elsewhere.kubectl("apply", "-f", str(EXAMPLE))
    if applied.returncode != 0:
        return applied.stderr
    elsewhere.kubectl("delete", "-f", str(EXAMPLE), "--wait=false")
    return None


def _available(tools: Tools, name: str) -> bool:
    deployment = tools.get("deployment", name)
    status = deployment.get("status") or {}
    return bool(status.get("availableReplicas")) and status.get("updatedReplicas") == 1


def _pod_of(tools: Tools, component: str) -> dict[str, Any]:
    pods = tools.get("pods", "-l", f"app.kubernetes.io/component={component}")["items"]
    running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
    assert len(running) == 1, [p["metadata"]["name"] for p in pods]
    return dict(running[0])


def test_helm_install_apply_the_example_test_upgrade_and_uninstall(
    devcluster: DevCluster,
    namespace: str,
    influx2: RunningInflux,
    influx2_bucket: Influx2Bucket,
    synthetic_meter: SyntheticMeterFactory,
    tmp_path: Path,
    cluster_objects_removed: None,
) -> None:
    tools = Tools(devcluster.kubeconfig, namespace)
    kubelet_dir = devcluster.workdir / "kubelet"

    def diagnose() -> str:
        state = tools.kubectl("get", "all,tj,pvc", "-o", "wide")
        return f"{state.stdout}{state.stderr}\n{pod_logs(kubelet_dir, namespace)}"

    meter = synthetic_meter("household", start=DATA_START, days=DATA_DAYS)
    connection = influx2.connection
    assert connection.org is not None
    written = write_meter_v2(
        connection.url,
        connection.org,
        influx2_bucket.name,
        connection.token,
        "electricity",
        "meter1",
        meter.observed,
    )
    assert written > 0
    # The Secrets the chart references but never creates (docs/deploying.md, step 2).
    api_token = secrets.token_urlsafe(24)
    for name, key, value in (
        ("influx-token", "token", influx2_bucket.read_token),
        ("wattcast-api-tokens", "tokens", api_token + "\n"),
    ):
        made = tools.kubectl("create", "secret", "generic", name, f"--from-literal={key}={value}")
        assert made.returncode == 0, made.stderr

    values = values_file(tmp_path / "values.yaml", _values(influx2, influx2_bucket))
    installed = tools.helm(
        "install", RELEASE, str(CHART), "--values", str(values), "--take-ownership"
    )
    assert installed.returncode == 0, installed.stderr
    assert "STATUS: deployed" in installed.stdout

    for component in ("operator", "api"):
        wait_for(
            lambda c=component: _available(tools, f"{RELEASE}-{c}"),
            120,
            f"the {component} Deployment available",
            diagnose,
        )
    # Each runs under the ServiceAccount the chart made for it, with that account's token.
    for component in ("operator", "api"):
        pod = _pod_of(tools, component)
        account = tools.get("serviceaccount", f"{RELEASE}-{component}")
        assert account["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert pod["spec"]["serviceAccountName"] == f"{RELEASE}-{component}"
        assert any("serviceAccountToken" in str(v) for v in pod["spec"]["volumes"])
        assert all(c["ready"] for c in pod["status"]["containerStatuses"]), pod["status"]
    crd = tools.get("crd", CRD)
    assert crd["metadata"]["annotations"]["meta.helm.sh/release-namespace"] == namespace
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"

    # Outside the operator's namespaces, kubectl gets an error naming them (a
    # ValidatingAdmissionPolicy of the release), never a TrainingJob nobody would run.
    refused = wait_for(
        lambda: _refused_elsewhere(devcluster, namespace),
        60,
        "the example refused in a namespace the operator does not watch",
        diagnose,
    )
    policy = f"{RELEASE}-trainingjob-namespaces"
    assert "Error from server (Forbidden)" in refused, refused
    assert (
        f"is forbidden: ValidatingAdmissionPolicy '{policy}' with binding '{policy}' denied "
        "request: " in refused
    ), refused
    assert f"TrainingJobs run only in the namespaces {namespace}:" in refused, refused
    assert f"(release {RELEASE} in {namespace}) watches no other" in refused, refused
    assert Tools(devcluster.kubeconfig, "default").get("tj", EXAMPLE_NAME) == {}

    applied = tools.kubectl("apply", "-f", str(EXAMPLE))
    assert applied.returncode == 0, applied.stderr
    assert f"trainingjob.wattcast.dev/{EXAMPLE_NAME} created" in applied.stdout
    final = wait_for(
        lambda: (
            tj
            if (tj := tools.get("tj", EXAMPLE_NAME)).get("status", {}).get("phase")
            in ("Succeeded", "Failed")
            else None
        ),
        300,
        "the example TrainingJob finished",
        diagnose,
    )
    if final["status"]["phase"] != "Succeeded":
        pytest.fail(f"the example failed: {json.dumps(final['status'], indent=1)}\n{diagnose()}")
    model_path = final["status"]["result"]["modelPath"]
    assert model_path.startswith("electricity/meter1/versions/")
    store = kubelet_dir / "volumes" / namespace / f"{RELEASE}-models"
    assert (store / model_path).is_file()
    # The trainer ran as the TrainingJob's own identity, which the operator (under the
    # chart's rights) made.
    job = tools.get("job", EXAMPLE_NAME)
    pod_spec = job["spec"]["template"]["spec"]
    assert pod_spec["serviceAccountName"] == f"wattcast-trainer-{EXAMPLE_NAME}"
    # The chart's defaults for trainers reached the Job: requests and limits, and the pod
    # affinity that keeps every pod of the ReadWriteOnce model store on its node.
    (trainer,) = pod_spec["containers"]
    assert trainer["resources"]["requests"]["memory"] == "1Gi"
    assert trainer["resources"]["limits"]["memory"] == "2Gi"
    (term,) = pod_spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["labelSelector"]["matchLabels"] == {
        "wattcast.dev/models-claim": f"{RELEASE}-models"
    }

    # `helm test --logs` needs the kubelet's log API, which the process kubelet does not
    # serve: the test pod's output is read from the kubelet's log file instead.
    tested = tools.helm("test", RELEASE, timeout=240)
    assert tested.returncode == 0, f"{tested.stdout}{tested.stderr}\n{diagnose()}"
    assert f"TEST SUITE:     {RELEASE}-test-api" in tested.stdout
    assert "Phase:          Succeeded" in tested.stdout
    test_log = (kubelet_dir / "logs" / f"{namespace}_{RELEASE}-test-api.log").read_text()
    assert "GET /healthz: 200 {'status': 'ok'}" in test_log
    assert "GET /v1/trainingjobs: 200 1 TrainingJobs" in test_log
    # hook-succeeded: the passed test pod is gone again.
    assert tools.get("pod", f"{RELEASE}-test-api") == {}

    upgraded = tools.helm(
        "upgrade", RELEASE, str(CHART), "--values", str(values), "--set", "operator.logFormat=json"
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert "REVISION: 2" in upgraded.stdout
    wait_for(
        lambda: _available(tools, f"{RELEASE}-operator"),
        120,
        "the upgraded operator available",
        diagnose,
    )
    assert tools.get("tj", EXAMPLE_NAME)["status"]["phase"] == "Succeeded"
    assert tools.get("crd", CRD)

    uninstalled = tools.helm("uninstall", RELEASE)
    assert uninstalled.returncode == 0, uninstalled.stderr
    assert "These resources were kept due to the resource policy" in uninstalled.stdout
    # The CRD, the TrainingJob (so its Job) and the model store stay; the chart's workloads go.
    assert tools.get("crd", CRD)
    assert tools.get("tj", EXAMPLE_NAME)["status"]["phase"] == "Succeeded"
    assert tools.get("pvc", f"{RELEASE}-models")
    assert (store / model_path).is_file()
    for gone in (
        "deployment",
        "service",
        "configmap",
        "serviceaccount",
        "role",
        "validatingadmissionpolicy",
    ):
        left = tools.get(gone, "-l", f"app.kubernetes.io/instance={RELEASE}").get("items", [])
        assert left == [], (gone, [i["metadata"]["name"] for i in left])


def test_peering_installs_in_one_release(
    devcluster: DevCluster, namespace: str, tmp_path: Path, cluster_objects_removed: None
) -> None:
    """operator.peering.enabled=true: Kopf's peering CRDs (the chart's crds/) and the
    KopfPeering object (a template) go in with one `helm install`, and the operator runs with
    peering under the chart's rights."""
    tools = Tools(devcluster.kubeconfig, namespace)
    kubelet_dir = devcluster.workdir / "kubelet"

    def diagnose() -> str:
        state = tools.kubectl("get", "all,kopfpeerings", "-o", "wide")
        return f"{state.stdout}{state.stderr}\n{pod_logs(kubelet_dir, namespace)}"

    values = values_file(
        tmp_path / "values.yaml",
        {
            "operator": {
                "peering": {"enabled": True},
                "metricsPort": free_port(),
                "healthPort": free_port(),
            },
            "api": {"enabled": False},
        },
    )
    installed = tools.helm(
        "install", RELEASE, str(CHART), "--values", str(values), "--take-ownership"
    )
    assert installed.returncode == 0, installed.stderr
    for crd in ("kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev"):
        assert tools.get("crd", crd), crd
    peering = tools.get("kopfpeering", RELEASE)
    assert peering["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    wait_for(
        lambda: _available(tools, f"{RELEASE}-operator"),
        120,
        "the peering operator available",
        diagnose,
    )
    config = tools.get("configmap", f"{RELEASE}-operator")["data"]
    assert config["WATTCAST_PEERING"] == RELEASE
    # The running operator announces itself on the peering object (Kopf's status entry).
    wait_for(
        lambda: tools.get("kopfpeering", RELEASE).get("status"),
        60,
        "the operator on the peering object",
        diagnose,
    )
    uninstalled = tools.helm("uninstall", RELEASE)
    assert uninstalled.returncode == 0, uninstalled.stderr
    assert tools.get("kopfpeering", RELEASE) == {}
    assert tools.get("crd", "kopfpeerings.kopf.dev")  # Helm never deletes crds/
