"""api.containerPort: the port the API listens on, its container port and the Service's target."""

from __future__ import annotations

from chart_render import one, render, render_text


def test_the_api_listens_where_the_service_sends() -> None:
    objects = render({"api": {"containerPort": 18000, "service": {"port": 80}}})
    deployment = one(objects, "Deployment", "wattcast-api")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[command.index("--port") + 1] == "18000"
    assert container["ports"] == [{"name": "http", "containerPort": 18000, "protocol": "TCP"}]
    service = one(objects, "Service", "wattcast-api")
    assert service["spec"]["ports"][0]["port"] == 80
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_the_default_port_is_8000() -> None:
    deployment = one(render(), "Deployment", "wattcast-api")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == 8000


def test_a_port_out_of_range_is_refused() -> None:
    done = render_text({"api": {"containerPort": 70000}})
    assert done.returncode != 0
    assert "containerPort" in done.stderr
