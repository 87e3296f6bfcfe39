"""`helm test`'s hook: a pod that asks the API's Service for /healthz and lists TrainingJobs
with the API's first token (proven against a real install in tests/integration/chart)."""

from __future__ import annotations

import subprocess
import sys

from chart_render import kinds, one, render


def _hook(values: dict[str, object] | None = None) -> dict:
    return one(render(values), "Pod", "wattcast-test-api")


def test_the_hook_is_a_test_hook_that_cleans_up_after_success() -> None:
    pod = _hook()
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    policy = pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(",")
    assert set(policy) == {"before-hook-creation", "hook-succeeded"}
    assert pod["spec"]["restartPolicy"] == "Never"
    # It talks HTTP to the API only: no Kubernetes token at all.
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod["spec"]


def test_the_hook_calls_the_api_service_with_the_first_token() -> None:
    pod = _hook({"api": {"service": {"port": 9000}, "tokensSecret": {"name": "t", "key": "k"}}})
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["WATTCAST_API_URL"] == "http://wattcast-api:9000"
    assert env["WATTCAST_API_TOKENS_FILE"] == "/etc/wattcast/api-tokens/k"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["api-tokens"]["secret"]["secretName"] == "t"
    assert container["image"] == "ghcr.io/wattcast/wattcast-operator:0.1.0"


def test_without_authentication_the_hook_sends_no_token() -> None:
    pod = _hook({"api": {"authDisabled": True}})
    (container,) = pod["spec"]["containers"]
    assert [e["name"] for e in container["env"]] == ["WATTCAST_API_URL"]
    assert "api-tokens" not in {v["name"] for v in pod["spec"]["volumes"]}


def test_without_the_api_there_is_no_hook() -> None:
    assert ("Pod", "wattcast-test-api") not in kinds(render({"api": {"enabled": False}}))


def test_the_hook_script_fails_naming_what_is_wrong() -> None:
    """The script itself, run here against a closed port: exit 1 and the request it failed."""
    (container,) = _hook()["spec"]["containers"]
    assert container["command"][:2] == ["python", "-c"]
    done = subprocess.run(
        [sys.executable, "-c", container["command"][2]],
        env={"WATTCAST_API_URL": "http://127.0.0.1:9"},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 1
    assert "GET /healthz:" in done.stderr
