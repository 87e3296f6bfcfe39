"""The dashboard's fleet page in Debian's chromium against the API on the dev cluster: the
progress bar of meters, the counts and MAE / baseline aggregates, the failure table, the uPlot
histogram of MAE / baseline across meters (from the status' own histogram), live updates from
the fleet's event stream, cancelling through the confirm dialog, and the fleets on the list
page. Screenshots go to artifacts/screenshots/. Every page is checked as the job pages are
(no script errors, nothing from elsewhere, the token in no URL)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from dashboard_support import Watched, open_page, screenshot, sign_in
from playwright.sync_api import expect
from testkit import TrainingJobs

from wattcast.crd import constants
from wattcast.crd.fleettrainingjob import RATIO_BUCKET_EDGES

pytestmark = pytest.mark.timeout(120)

METERS = [f"meter-{i:02d}" for i in range(20)]
# Ratios of 12 meters: 7 at 0.75-0.80, 2 at 0.95-1.00 (they beat the baseline), 3 above 2.
COUNTS_BY_EDGE = {0.8: 7, 1.0: 2}
HISTOGRAM = [{"le": edge, "count": COUNTS_BY_EDGE.get(edge, 0)} for edge in RATIO_BUCKET_EDGES]
HISTOGRAM.append({"count": 3})


def running(finished: int) -> dict[str, Any]:
    return {
        "phase": "Running",
        "message": f"{finished} of 20 meters finished",
        "jobName": "fleet-dash",
        "progress": {"finished": finished, "total": 20, "percent": finished * 5},
        "counts": {"total": 20, "succeeded": 12, "failed": 2, "promoted": 8, "beatBaseline": 9},
        "failures": [
            {"meter": "meter-03", "reason": "NoData", "message": "no points in the range"},
            {
                "meter": "meter-07",
                "reason": "InfluxUnavailable",
                "message": "cannot reach http://10.1.2.3:8086/query after 3 tries",
            },
        ],
        "metrics": {
            "maeOverBestBaseline": {"median": 0.79, "p90": 2.0, "meters": 12},
            "histogram": HISTOGRAM,
        },
        "shards": {"total": 4, "succeeded": 2, "failed": 0, "active": 2},
    }


def create_fleet(api: httpx.Client, name: str) -> None:
    body = {
        "name": name,
        "meters": {"ids": METERS},
        "meterType": "electricity",
        "start": "2025-01-01T00:00:00Z",
        "end": "2025-03-01T00:00:00Z",
        "parallelism": 2,
        "metersPerPod": 5,
    }
    response = api.post("/v1/fleettrainingjobs", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture
def fleets(cluster: TrainingJobs) -> TrainingJobs:
    return TrainingJobs(cluster.objects, cluster.namespace, plural=constants.FLEET_PLURAL)


def test_the_fleet_page_shows_progress_failures_and_the_histogram_live(
    desktop: Any,
    phone: Any,
    dashboard_url: str,
    api: httpx.Client,
    fleets: TrainingJobs,
    watch: list[Watched],
) -> None:
    create_fleet(api, "fleet-dash")
    fleets.patch_status("fleet-dash", running(12))
    page = open_page(desktop, f"{dashboard_url}/fleets/fleet-dash", watch, dashboard_url)
    sign_in(page)

    expect(page.locator("#connection-text")).to_have_text("Live")
    expect(page.locator("#phase [data-phase]")).to_have_attribute("data-phase", "Running")
    bar = page.locator("#progress [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "60")
    expect(bar).to_have_attribute("aria-valuetext", "60%, 12 of 20 meters (Running)")
    expect(page.locator("#facts")).to_contain_text("20 listed")
    expect(page.locator("#facts")).to_contain_text("4 in all: 2 done, 0 failed, 2 running")
    expect(page.locator("#counts")).to_contain_text("Beat the baseline")

    failures = page.locator("#failures tbody tr")
    expect(failures).to_have_count(2)
    expect(failures.nth(0)).to_have_attribute("data-meter", "meter-03")
    expect(failures.nth(1)).to_contain_text("InfluxUnavailable")
    expect(failures.nth(1)).not_to_contain_text("10.1.2.3")  # redacted by the API

    chart = page.locator("#histogram-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart).to_have_attribute("data-points", "3")
    expect(chart).to_have_attribute("data-meters", "12")
    expect(page.locator("#histogram-caption")).to_contain_text("12 meters; 9 at or below 1")
    page.get_by_text("Histogram as a table").click()
    expect(page.locator("#histogram-table tbody tr")).to_have_count(3)
    screenshot(page, "fleet-running-desktop")

    # The operator reports the end: the page follows the stream to it, then stops.
    done = {**running(20), "phase": "Succeeded", "message": "every shard ran"}
    fleets.patch_status("fleet-dash", done)
    expect(page.locator("#phase [data-phase]")).to_have_attribute("data-phase", "Succeeded")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#connection-text")).to_have_text("Finished; no more updates.")
    for action in ("Suspend", "Resume", "Cancel fleet"):
        expect(page.get_by_role("button", name=action)).to_be_disabled()
    screenshot(page, "fleet-succeeded-desktop")

    small = open_page(phone, f"{dashboard_url}/fleets/fleet-dash", watch, dashboard_url)
    sign_in(small)
    expect(small.locator("#histogram-chart canvas")).to_have_count(1)
    screenshot(small, "fleet-succeeded-phone")


def test_cancel_through_the_dialog_and_the_list_links_to_the_fleet(
    desktop: Any,
    dashboard_url: str,
    api: httpx.Client,
    fleets: TrainingJobs,
    watch: list[Watched],
) -> None:
    create_fleet(api, "fleet-cancel")
    page = open_page(desktop, dashboard_url + "/", watch, dashboard_url)
    sign_in(page)
    row = page.locator("#fleets tbody tr[data-fleet=fleet-cancel]")
    expect(row).to_contain_text("0 of ?")
    row.get_by_role("link", name="fleet-cancel").click()
    expect(page).to_have_url(f"{dashboard_url}/fleets/fleet-cancel")
    expect(page.locator("#connection-text")).to_have_text("Live")
    expect(page.locator("#histogram-caption")).to_have_text("Shown once meters have finished.")
    expect(page.locator("#failures tbody")).to_contain_text("No meter has failed.")

    page.get_by_role("button", name="Cancel fleet").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Cancel this fleet for good?")
    expect(page.locator("#confirm-cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel the fleet").click()
    expect(page.locator("#action-result")).to_have_text("Cancelled.")
    expect(page.locator("#phase [data-phase]")).to_have_attribute("data-phase", "Cancelled")
    stored = fleets.get("fleet-cancel")
    assert stored["spec"]["suspend"] is True
    assert stored["metadata"]["annotations"][constants.ANNOTATION_CANCELLED] == "true"
