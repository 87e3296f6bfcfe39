"""A FleetTrainingJob through the whole stack, from the surface: `wattcast fleet train --wait`
(the installed console script) → REST → operator → one Indexed Job → shard pods (Flux, the
read-only token) → model store; then `wattcast fleet result`, the API's view of the status the
operator aggregated, and the dashboard's fleet page drawing the histogram of MAE / baseline
across the meters the shards trained, in Debian's chromium."""

from __future__ import annotations

import json
from typing import Any

from dashboard_support import screenshot
from e2e_support import E2E, TINY_MODEL, cli, tiny_range, unique


def test_a_fleet_trained_from_the_cli_shows_its_outcome_everywhere(e2e: E2E, desktop: Any) -> None:
    from playwright.sync_api import expect

    meters = [unique("fleet") for _ in range(3)]
    for meter in meters:
        e2e.load_meter(meter)
    start, end = tiny_range()
    trained = cli(
        e2e, "-o", "json", "fleet", "train", "--meters", ",".join(meters), "--start", start,
        "--end", end, "--epochs", str(TINY_MODEL["epochs"]),
        "--lookback-hours", str(TINY_MODEL["lookbackHours"]),
        "--holdout-days", str(TINY_MODEL["holdoutDays"]),
        "--meters-per-pod", "2", "--parallelism", "2", "--wait", "--interval", "0.5",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr + e2e.stack.logs()
    fleet = json.loads(trained.stdout)
    assert (fleet["stage"], fleet["finished"], fleet["progress"]) == ("Succeeded", True, 100)
    counts = fleet["status"]["counts"]
    assert (counts["total"], counts["succeeded"], counts["failed"]) == (3, 3, 0)
    ratio = fleet["status"]["metrics"]["maeOverBestBaseline"]
    assert ratio["meters"] == 3
    histogram = fleet["status"]["metrics"]["histogram"]
    assert sum(bucket["count"] for bucket in histogram) == 3
    name = fleet["name"]

    result = cli(e2e, "fleet", "result", name)
    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout and "MAE / best baseline across meters" in result.stdout
    listed = cli(e2e, "-o", "json", "fleet", "list", "--phase", "Succeeded")
    assert name in [item["name"] for item in json.loads(listed.stdout)["items"]]

    page = desktop.new_page()
    page.goto(f"{e2e.stack.api_url}/fleets/{name}")
    field = page.get_by_label("API token")
    field.fill(e2e.stack.token)
    field.press("Enter")
    expect(page.locator("#phase [data-phase]")).to_have_attribute("data-phase", "Succeeded")
    expect(page.locator("#progress [role=progressbar]")).to_have_attribute(
        "aria-valuetext", "100%, 3 of 3 meters (Succeeded)"
    )
    chart = page.locator("#histogram-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart).to_have_attribute("data-meters", "3")
    expect(page.locator("#failures tbody")).to_contain_text("No meter has failed.")
    screenshot(page, "fleet-e2e-desktop")
