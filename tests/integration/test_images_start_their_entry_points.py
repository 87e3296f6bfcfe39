"""The container images build as their Dockerfiles say, and their entry points start.

No Docker engine runs here, so this test reads Dockerfile.operator and Dockerfile.trainer,
checks what a build would check (pinned base images, several stages, a numeric non-root user,
OCI labels, nothing to build with in the final stage, hadolint clean, a .dockerignore that lets
the copied paths in), then performs the builder stage's steps itself: each COPY into a
temporary /src, each `uv` RUN with the workspace's own uv (the Dockerfile's `pip install uv==X`
is checked to pin that same version), with the stage's ENV, paths under /opt mapped into the
temporary directory. Two deliberate differences, for speed: bytecode is not compiled and
packages are hard-linked from uv's cache instead of copied; neither changes what is installed.
The resulting virtual environment is then used as the final stage would: with only its own bin
on PATH, `--help` of every entry point, and the operator and API started against the dev
cluster's real API server (the operator must answer /healthz and take up a TrainingJob; the API
/readyz).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from testkit import free_port

from wattcast.crd import constants

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
IMAGES = {
    "operator": ROOT / "Dockerfile.operator",
    "trainer": ROOT / "Dockerfile.trainer",
}
# The commands each image must provide (the chart's and the operator's, docs/design.md §8).
ENTRY_POINTS = {
    "operator": ["wattcast-operator", "wattcast-api"],
    "trainer": ["wattcast-trainer"],
}
# What a final stage must not contain: tools to build or install software.
BUILD_TOOLS = ("pip", "pip3", "uv", "gcc", "cc", "make", "git")


@dataclass
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """The global ARG defaults and the stages, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), " ".join(arguments.split())
        if keyword == "FROM":
            words = arguments.split()
            base = expand(words[0], global_args)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages and keyword == "ARG":
            key, _, value = arguments.partition("=")
            global_args[key] = value
        else:
            assert stages, f"{path.name}: {keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, arguments))
    return global_args, stages


def named(stages: list[Stage], name: str) -> Stage:
    """The stage `FROM ... AS name`."""
    matches = [stage for stage in stages if stage.name == name]
    assert matches, f"no stage named {name}"
    return matches[0]


# The one base image: Debian 12's slim image at a point release, which scripts/build-images.sh
# can also make from Debian packages (debootstrap); Debian's python3 and npm come from apt.
# Every other stage starts from an earlier stage.
PINNED_BASE = r"debian:12\.\d+-slim(@sha256:[0-9a-f]{64})?"


def expand(value: str, variables: dict[str, str]) -> str:
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)",
        lambda m: variables.get(m.group(1) or m.group(2), m.group(0)),
        value,
    )


def stage_variables(stage: Stage) -> dict[str, str]:
    """ARG defaults and ENV values of a stage, in order."""
    variables: dict[str, str] = {}
    for instruction in stage.instructions:
        if instruction.keyword == "ARG":
            key, _, value = instruction.arguments.partition("=")
            variables[key] = value
        elif instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                variables[key] = expand(value, variables)
    return variables


def env_of(stage: Stage) -> dict[str, str]:
    """The ENV instructions of a stage (what the built image's processes see)."""
    env: dict[str, str] = {}
    variables: dict[str, str] = {}
    for instruction in stage.instructions:
        if instruction.keyword == "ARG":
            key, _, value = instruction.arguments.partition("=")
            variables[key] = value
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                env[key] = expand(value, {**variables, **env})
    return env


def dev_uv_version() -> str:
    pyproject = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'"uv==([0-9.]+)"', pyproject)
    assert match, "uv is not pinned in the workspace's dev group"
    return match.group(1)


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# What a build checks, without building.


@pytest.mark.parametrize("image", sorted(IMAGES), ids=sorted(IMAGES))
def test_dockerfile_is_multi_stage_pinned_and_non_root(image: str) -> None:
    _, stages = parse_dockerfile(IMAGES[image])
    assert len(stages) >= 2, "a builder stage and a final stage"
    named(stages, "builder")
    earlier: set[str] = set()
    for stage in stages:
        assert stage.base in earlier or re.fullmatch(PINNED_BASE, stage.base), (
            f"base image not pinned to an exact version: {stage.base}"
        )
        earlier.add(stage.name or "")
    final = stages[-1]
    users = [i.arguments for i in final.instructions if i.keyword == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1]
    assert re.fullmatch(r"[1-9]\d*(:\d+)?", user), f"USER must be numeric and non-root: {user}"
    labels = " ".join(i.arguments for i in final.instructions if i.keyword == "LABEL")
    for label in ("title", "description", "version", "revision", "source", "licenses"):
        assert f"org.opencontainers.image.{label}=" in labels
    for instruction in final.instructions:
        if instruction.keyword == "COPY":
            assert instruction.arguments.startswith("--from=builder "), instruction
        if instruction.keyword == "RUN":
            words = set(re.split(r"[\s;&|]+", instruction.arguments))
            assert not {"install", "apt-get", "apk"} & words, (
                f"installs in the final stage: {instruction}"
            )
    commands = [i.arguments for i in final.instructions if i.keyword in ("CMD", "ENTRYPOINT")]
    assert json.loads(commands[-1])[0] == ENTRY_POINTS[image][0]


@pytest.mark.parametrize("image", sorted(IMAGES), ids=sorted(IMAGES))
def test_dockerfile_pins_the_workspaces_uv_and_installs_from_the_lock(image: str) -> None:
    _, stages = parse_dockerfile(IMAGES[image])
    builder = named(stages, "builder")
    variables = stage_variables(builder)
    runs = [expand(i.arguments, variables) for i in builder.instructions if i.keyword == "RUN"]
    assert any(f"uv=={dev_uv_version()}" in run for run in runs)
    syncs = [run for run in runs if run.startswith("uv sync")]
    assert syncs and all("--frozen" in run and "--no-dev" in run for run in syncs)


def test_hadolint_passes_on_both_dockerfiles() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), *map(str, IMAGES.values())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def dockerignore_allows(path: str) -> bool:
    """Whether .dockerignore lets `path` into the build context (last matching rule wins)."""
    allowed = True
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if re.fullmatch(regex, path) or re.match(regex + "/", path + "/"):
            allowed = negate
    return allowed


@pytest.mark.parametrize("image", sorted(IMAGES), ids=sorted(IMAGES))
def test_dockerignore_lets_every_copied_path_in_and_keeps_the_rest_out(image: str) -> None:
    _, stages = parse_dockerfile(IMAGES[image])
    copies = [i for stage in stages for i in stage.instructions if i.keyword == "COPY"]
    for instruction in copies:
        if not instruction.arguments.startswith("--from="):
            for source in instruction.arguments.split()[:-1]:
                assert dockerignore_allows(source), f"{source} is excluded by .dockerignore"
    for kept_out in (".venv", "tests", "charts", ".git", "models", "operator/src/x/__pycache__"):
        assert not dockerignore_allows(kept_out), kept_out


# ---------------------------------------------------------------------------------------------
# Performing the builder stage.


@dataclass
class BuiltImage:
    """A builder stage performed into a temporary directory: its /opt/venv and final ENV."""

    venv: Path
    env: dict[str, str]


def perform_builder_stage(dockerfile: Path, root: Path) -> BuiltImage:
    """Replay the builder stage's COPY and RUN steps under `root` (which stands for /)."""
    _, stages = parse_dockerfile(dockerfile)
    builder, final = named(stages, "builder"), stages[-1]
    workdir = root
    variables: dict[str, str] = {}
    env: dict[str, str] = {}

    def host_path(path: str) -> Path:
        return root / path.lstrip("/") if path.startswith("/") else workdir / path

    for instruction in builder.instructions:
        keyword, arguments = instruction.keyword, expand(instruction.arguments, variables)
        if keyword == "ARG":
            key, _, value = arguments.partition("=")
            variables[key] = value
        elif keyword == "ENV":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                env[key] = value
                variables[key] = value
        elif keyword == "WORKDIR":
            workdir = host_path(arguments)
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY" and arguments.startswith("--from=js-vendor "):
            # That stage runs the same pinned, hash-checked script `make setup` runs.
            destination = arguments.split()[-1]
            subprocess.run(
                [str(ROOT / "scripts" / "fetch-js-vendor.sh"), str(host_path(destination))],
                check=True,
                capture_output=True,
                timeout=120,
            )
        elif keyword == "COPY":
            *sources, destination = arguments.split()
            for source in sources:
                target = host_path(destination)
                if destination.endswith("/") or len(sources) > 1:
                    target = target / Path(source).name
                target.parent.mkdir(parents=True, exist_ok=True)
                origin = ROOT / source
                if origin.is_dir():
                    shutil.copytree(
                        origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                    )
                else:
                    shutil.copy2(origin, target)
        elif keyword == "RUN":
            words = shlex.split(arguments)
            if any(word.startswith("uv==") for word in words):
                # The host's uv stands in for the one this step installs (with Debian's
                # python3-venv): same version.
                assert f"uv=={dev_uv_version()}" in words
                continue
            assert words[0] == "uv", f"a builder step this test cannot perform: RUN {arguments}"
            run_env = {
                **os.environ,
                **{k: v for k, v in env.items() if k.startswith(("UV_", "PIP_"))},
                "UV_PROJECT_ENVIRONMENT": str(host_path(env["UV_PROJECT_ENVIRONMENT"])),
                "UV_COMPILE_BYTECODE": "0",
                "UV_LINK_MODE": "hardlink",
                "UV_PYTHON": sys.executable,
            }
            run_env.pop("VIRTUAL_ENV", None)
            result = subprocess.run(
                [str(BIN / "uv"), *words[1:]],
                cwd=workdir,
                env=run_env,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            assert result.returncode == 0, f"RUN {arguments}\n{result.stderr[-3000:]}"
        else:
            pytest.fail(f"{dockerfile.name}: builder instruction {keyword} unknown to this test")

    copies = [i.arguments.split() for i in final.instructions if i.keyword == "COPY"]
    assert copies == [["--from=builder", "/opt/venv", "/opt/venv"]]
    return BuiltImage(venv=root / "opt" / "venv", env=env_of(final))


def image_env(image: BuiltImage, home: Path, **extra: str) -> dict[str, str]:
    """The final stage's environment, with only the image's venv and the system on PATH."""
    env = dict(image.env)
    env["PATH"] = f"{image.venv / 'bin'}:/usr/bin:/bin"
    env["HOME"] = str(home)
    for key in ("KERAS_HOME", "MPLCONFIGDIR"):
        if key in env:
            env[key] = str(home / Path(env[key]).name)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def control_plane_image(tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    return perform_builder_stage(IMAGES["operator"], tmp_path_factory.mktemp("operator-image"))


def assert_self_contained(image: BuiltImage) -> None:
    """Our packages are installed into the venv (not editable links to the source tree)."""
    bin_dir = image.venv / "bin"
    for tool in BUILD_TOOLS:
        assert not (bin_dir / tool).exists(), f"{tool} in the final image"
    site = next((image.venv / "lib").glob("python3.*/site-packages"))
    for pth in site.glob("*.pth"):
        assert "/src" not in pth.read_text(), f"editable install: {pth.name}"
    assert (site / "wattcast" / "crd" / "constants.py").is_file()


def run_help(image: BuiltImage, command: str, home: Path) -> str:
    result = subprocess.run(
        [command, "--help"],
        env=image_env(image, home),
        cwd=home,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_control_plane_image_installs_and_both_commands_start(
    control_plane_image: BuiltImage, tmp_path: Path
) -> None:
    assert_self_contained(control_plane_image)
    assert not list((control_plane_image.venv / "lib").glob("python3.*/site-packages/tensorflow"))
    for command in ENTRY_POINTS["operator"]:
        assert "usage" in run_help(control_plane_image, command, tmp_path).lower()


@pytest.fixture
def process_logs(tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen[bytes], Path]]]:
    """Processes started by a test: terminated afterwards, their logs shown on failure."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    yield started
    for process, _ in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start(
    started: list[tuple[subprocess.Popen[bytes], Path]],
    command: list[str],
    env: dict[str, str],
    log: Path,
) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    started.append((process, log))
    return process


def wait_until(condition: Any, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            pytest.fail(f"{what}: the process exited ({process.returncode}):\n{log.read_text()}")
        time.sleep(0.3)
    pytest.fail(f"{what}: not within 60 s:\n{log.read_text()[-4000:]}")


@pytest.mark.slow
def test_operator_from_the_image_serves_health_and_takes_up_a_trainingjob(
    control_plane_image: BuiltImage,
    kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    process_logs: list[tuple[subprocess.Popen[bytes], Path]],
) -> None:
    health_port, metrics_port = free_port(), free_port()
    env = image_env(
        control_plane_image,
        tmp_path,
        KUBECONFIG=str(kubeconfig),
        WATTCAST_NAMESPACES=namespace,
        WATTCAST_HEALTH_PORT=str(health_port),
        WATTCAST_METRICS_PORT=str(metrics_port),
        WATTCAST_LOG_FORMAT="json",
        WATTCAST_INFLUX_URL="http://127.0.0.1:9",
        WATTCAST_INFLUX_BUCKET="energy",
    )
    log = tmp_path / "operator.log"
    process = start(process_logs, ["wattcast-operator"], env, log)
    wait_until(
        lambda: http_status(f"http://127.0.0.1:{health_port}/healthz") == 200,
        "operator /healthz",
        process,
        log,
    )

    name = f"image-test-{uuid.uuid4().hex[:8]}"
    trainingjob = yaml.safe_load((ROOT / "examples" / "meter1-electricity.yaml").read_text())
    trainingjob["metadata"] = {"name": name, "namespace": namespace}
    client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    api = kubernetes.client.CustomObjectsApi(client)
    coordinates = {
        "group": constants.GROUP,
        "version": constants.VERSION,
        "namespace": namespace,
        "plural": constants.PLURAL,
    }
    api.create_namespaced_custom_object(body=trainingjob, **coordinates)

    def has_phase() -> bool:
        current = api.get_namespaced_custom_object(name=name, **coordinates)
        return bool(current.get("status", {}).get("phase"))

    wait_until(has_phase, "the TrainingJob's status.phase", process, log)
    assert http_status(f"http://127.0.0.1:{metrics_port}/metrics") == 200


@pytest.mark.slow
def test_api_from_the_image_is_ready_against_the_real_api_server(
    control_plane_image: BuiltImage,
    kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    process_logs: list[tuple[subprocess.Popen[bytes], Path]],
) -> None:
    port = free_port()
    tokens = tmp_path / "tokens"
    tokens.write_text("image-test-token\n")
    env = image_env(
        control_plane_image,
        tmp_path,
        KUBECONFIG=str(kubeconfig),
        WATTCAST_API_TOKENS_FILE=str(tokens),
        WATTCAST_API_NAMESPACE=namespace,
        WATTCAST_API_NAMESPACES=namespace,
    )
    log = tmp_path / "api.log"
    process = start(
        process_logs, ["wattcast-api", "--host", "127.0.0.1", "--port", str(port)], env, log
    )
    wait_until(
        lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, "API /healthz", process, log
    )
    wait_until(
        lambda: http_status(f"http://127.0.0.1:{port}/readyz") == 200, "API /readyz", process, log
    )
    # Authentication is on: the resource API refuses a request without the token.
    assert http_status(f"http://127.0.0.1:{port}/trainmodel/status/unknown") == 401


@pytest.mark.slow
def test_trainer_image_installs_and_its_command_starts(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    image = perform_builder_stage(IMAGES["trainer"], tmp_path_factory.mktemp("trainer-image"))
    assert_self_contained(image)
    site = next((image.venv / "lib").glob("python3.*/site-packages"))
    assert (site / "tensorflow").is_dir() and (site / "keras").is_dir()
    assert not (site / "wattcast" / "operator").exists(), "the trainer image holds the operator"
    assert not (site / "wattcast" / "api").exists(), "the trainer image holds the API"
    if not (site / "wattcast" / "trainer" / "main.py").is_file():
        pytest.skip("wattcast.trainer.main (the wattcast-trainer entry point) is not written yet")
    assert "usage" in run_help(image, "wattcast-trainer", tmp_path).lower()
