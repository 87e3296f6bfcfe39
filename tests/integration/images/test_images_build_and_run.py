"""The real images: `make images` builds both Dockerfiles, and each image runs (issue 13, item 1).

The images are built by scripts/build-images.sh with the builder found here (docker with a
daemon, podman or buildah; skipped, saying so, where there is none), from a base it makes
with debootstrap when no registry has it. Then, on the host network:

- the trainer image trains one meter against the test bed's InfluxDB 2 and writes its model;
- the control-plane image serves the API's /healthz and /readyz and starts the operator,
  both against the session dev cluster's real API server.

Each container runs as the images' user 65532, as the chart runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.devtools.processes import free_port, repo_root
from wattcast.devtools.testbed.fixtures import Influx2Bucket, SyntheticMeterFactory
from wattcast.devtools.testbed.influx import write_meter_v2
from wattcast.devtools.testbed.instance import RunningInflux

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

VERSION = yaml.safe_load((repo_root() / "charts/wattcast/Chart.yaml").read_text())["appVersion"]
IMAGES = {name: f"ghcr.io/wattcast/wattcast-{name}:{VERSION}" for name in ("operator", "trainer")}
USER = "65532:65532"


def find_builder() -> str | None:
    """What scripts/build-images.sh would use: docker with a daemon, podman, buildah."""
    if shutil.which("docker"):
        info = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30)
        if info.returncode == 0:
            return "docker"
    for name in ("podman", "buildah"):
        if shutil.which(name):
            return name
    return None


def container_argv(
    builder: str, image: str, command: list[str], mounts: dict[Path, str], env: dict[str, str]
) -> list[str]:
    """One container of `image` running `command` on the host network as the images' user."""
    volumes = [f"--volume={host}:{inside}" for host, inside in mounts.items()]
    variables = [f"--env={key}={value}" for key, value in env.items()]
    if builder == "buildah":
        # buildah runs a working container of the image (removed by the caller).
        return [
            "buildah",
            "run",
            # As scripts/build-images.sh builds: chroot isolation needs no nested namespaces.
            f"--isolation={os.environ.get('BUILDAH_ISOLATION', 'chroot')}",
            "--network=host",
            f"--user={USER}",
            *volumes,
            *variables,
            image,
            "--",
            *command,
        ]
    return [
        builder,
        "run",
        "--rm",
        "--network=host",
        f"--user={USER}",
        "--read-only",
        *volumes,
        *variables,
        image,
        *command,
    ]


class Containers:
    """Starts containers of the built images and removes them afterwards."""

    def __init__(self, builder: str) -> None:
        self.builder = builder
        self.working: list[str] = []
        self.running: list[subprocess.Popen[str]] = []

    def _target(self, image: str) -> str:
        if self.builder != "buildah":
            return image
        done = subprocess.run(
            ["buildah", "from", "--pull=never", image],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        self.working.append(done.stdout.strip())
        return self.working[-1]

    def run(
        self,
        image: str,
        command: list[str],
        mounts: dict[Path, str],
        env: dict[str, str],
        timeout: float,
    ) -> subprocess.CompletedProcess[str]:
        argv = container_argv(self.builder, self._target(image), command, mounts, env)
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)

    def start(
        self, image: str, command: list[str], mounts: dict[Path, str], env: dict[str, str]
    ) -> subprocess.Popen[str]:
        argv = container_argv(self.builder, self._target(image), command, mounts, env)
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def close(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
        for container in self.working:
            subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


@pytest.fixture(scope="module")
def built() -> str:
    """Build both images once (the builder's layer cache makes a rebuild quick)."""
    builder = find_builder()
    if builder is None:
        pytest.skip(
            "no image builder: no docker daemon, podman or buildah "
            "(Debian: apt-get install buildah debootstrap)"
        )
    args = [str(repo_root() / "scripts" / "build-images.sh"), "--builder", builder]
    if os.geteuid() == 0 and shutil.which("debootstrap"):
        args.append("--local-base")
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=3300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for image in IMAGES.values():
        assert f"{image}: built in" in done.stdout, done.stdout
    return builder


@pytest.fixture
def containers(built: str) -> Iterator[Containers]:
    helper = Containers(built)
    try:
        yield helper
    finally:
        helper.close()


def wait_for_status(url: str, process: subprocess.Popen[str], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the container exited {process.returncode}:\n{output[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout:.0f} s")


def test_the_trainer_image_trains_one_meter(
    containers: Containers,
    influx2: RunningInflux,
    influx2_bucket: Influx2Bucket,
    synthetic_meter: SyntheticMeterFactory,
    tmp_path: Path,
) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    meter = synthetic_meter("household", start=start, days=44)
    connection = influx2.connection
    assert connection.org is not None
    write_meter_v2(
        connection.url,
        connection.org,
        influx2_bucket.name,
        connection.token,
        "electricity",
        "image-meter",
        meter.observed,
    )
    spec = {
        "apiVersion": "wattcast.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": "image-smoke"},
        "spec": {
            "meterId": "image-meter",
            "meterType": "electricity",
            "start": "2024-01-01T00:00:00Z",
            "end": (start + timedelta(days=44)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": {
                "url": connection.url,
                "dialect": "flux",
                "org": connection.org,
                "bucket": influx2_bucket.name,
            },
            "model": {"epochs": 3},
        },
    }
    work = tmp_path / "work"
    models, scratch = work / "models", work / "tmp"
    for folder in (models, scratch):
        folder.mkdir(parents=True)
        folder.chmod(0o777)  # the image's user 65532 writes there
    (work / "spec.yaml").write_text(yaml.safe_dump(spec))
    done = containers.run(
        IMAGES["trainer"],
        [
            "wattcast-trainer",
            "--spec",
            "/input/spec.yaml",
            "--models-dir",
            "/models",
            "--termination-log",
            "/tmp/result.json",
        ],
        {work / "spec.yaml": "/input/spec.yaml", models: "/models", scratch: "/tmp"},
        {"INFLUX_TOKEN": influx2_bucket.read_token},
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    message = json.loads((scratch / "result.json").read_text())
    model_path = message["result"]["modelPath"]
    assert model_path.startswith("electricity/image-meter/versions/")
    assert (models / model_path).is_file()


def test_the_control_plane_image_serves_the_api_and_starts_the_operator(
    containers: Containers, devcluster: DevCluster, namespace: str, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(devcluster.kubeconfig, kubeconfig)
    kubeconfig.chmod(0o644)  # readable by the image's user
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    scratch.chmod(0o777)
    mounts = {kubeconfig: "/etc/wattcast/kubeconfig", scratch: "/tmp"}
    common = {"KUBECONFIG": "/etc/wattcast/kubeconfig"}
    api_port = free_port()
    api = containers.start(
        IMAGES["operator"],
        ["wattcast-api", "--host", "127.0.0.1", "--port", str(api_port)],
        mounts,
        {
            **common,
            "WATTCAST_API_AUTH_DISABLED": "true",
            "WATTCAST_API_NAMESPACE": namespace,
            "WATTCAST_API_NAMESPACES": namespace,
        },
    )
    assert wait_for_status(f"http://127.0.0.1:{api_port}/healthz", api, 120) == 200
    assert wait_for_status(f"http://127.0.0.1:{api_port}/readyz", api, 60) == 200

    health_port = free_port()
    operator = containers.start(
        IMAGES["operator"],
        ["wattcast-operator"],
        mounts,
        {
            **common,
            "WATTCAST_NAMESPACES": namespace,
            "WATTCAST_HEALTH_PORT": str(health_port),
            "WATTCAST_METRICS_PORT": "0",
            "WATTCAST_LOG_FORMAT": "plain",
        },
    )
    assert wait_for_status(f"http://127.0.0.1:{health_port}/healthz", operator, 120) == 200
