"""The dashboard in Debian's chromium (headless, Playwright) against the API on the dev
cluster: sign-in, the live list, a job's plots, actions. Screenshots go to artifacts/screenshots/.

Every page is checked for script errors, Content-Security-Policy violations, requests that
leave the API's origin, and the token appearing in any URL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_support import (
    METRICS,
    TOKEN,
    Watched,
    iso,
    job_body,
    open_page,
    screenshot,
    sign_in,
    write_model,
)
from playwright.sync_api import Page, expect
from testkit import TrainingJobs

pytestmark = pytest.mark.timeout(120)


def clear_filters(page: Page, jobs: int = 4) -> None:
    page.get_by_role("button", name="Clear filters").click()
    expect(page.locator("tbody tr:visible")).to_have_count(jobs)
    assert "phase=" not in page.url and "type=" not in page.url and "meter=" not in page.url


def create(api: httpx.Client, name: str, meter: str, meter_type: str = "electricity") -> None:
    response = api.post("/v1/trainingjobs", json=job_body(name, meter, meter_type))
    assert response.status_code == 201, response.text


def soon(seconds: float) -> str:
    """A timestamp `seconds` after now: the status patches come right after the creation, so
    the Job's start and end follow the TrainingJob's creation on the page's timeline (an end
    in the near future is the price of a plausible duration)."""
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


def training(progress: int, epoch: int) -> dict[str, Any]:
    return {
        "phase": "Training",
        "progress": progress,
        "message": f"epoch {epoch} of 12",
        "attempts": 1,
        "jobName": "x",
        "startTime": soon(1),
        "training": {"epoch": epoch, "epochs": 12, "loss": 0.31, "valLoss": 0.35},
    }


def succeeded(model_path: str) -> dict[str, Any]:
    return {
        "phase": "Succeeded",
        "progress": 100,
        "message": "Model trained and saved",
        "attempts": 1,
        "startTime": soon(1),
        "completionTime": soon(251),
        "conditions": [
            {
                "type": "Complete",
                "status": "True",
                "reason": "TrainingSucceeded",
                "message": "the model was saved",
                "lastTransitionTime": soon(251),
            }
        ],
        "result": {
            "modelPath": model_path,
            "dataPoints": 1416,
            "trainingCompleted": soon(250),
            "metrics": METRICS,
        },
    }


def failed() -> dict[str, Any]:
    return {
        "phase": "Failed",
        "progress": 12,
        "message": "not enough data",
        "attempts": 1,
        "startTime": soon(1),
        "completionTime": soon(31),
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "DataInsufficient",
                "message": "have 3.0 days of data after cleaning, need 29.0",
                "lastTransitionTime": soon(31),
            }
        ],
    }


def test_an_unauthenticated_visit_shows_the_sign_in_form_and_no_data(
    dashboard_url: str, api: httpx.Client, desktop: Any, watch: list[Watched]
) -> None:
    create(api, "tj-secret-a", "meter-secret")
    page = open_page(desktop, f"{dashboard_url}/", watch, dashboard_url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#content")).to_be_hidden()
    assert "meter-secret" not in page.content()
    assert "tj-secret-a" not in page.content()

    # The data itself is refused without the token.
    for path in ("/v1/trainingjobs", "/v1/events", "/v1/trainingjobs/tj-secret-a/model"):
        response = httpx.get(f"{dashboard_url}{path}", timeout=10)
        assert response.status_code == 401, path
        assert response.json()["code"] == "unauthorized"

    # Nothing of a session is offered before signing in; focus is always drawn.
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    page.get_by_label("API token").focus()
    page.keyboard.press("Tab")
    submit = page.get_by_role("button", name="Sign in")
    expect(submit).to_be_focused()
    outline = submit.evaluate(
        "b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth"
    )
    assert outline == "solid 3px", outline
    page.get_by_label("API token").focus()

    # A wrong token is refused with a message; still no data.
    sign_in(page, "not-the-token")
    expect(page.locator("#login-error")).to_contain_text("not accepted")
    expect(page.locator("#content")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    assert "meter-secret" not in page.content()
    screenshot(page, "sign-in-refused-1280")

    page.goto(f"{dashboard_url}/jobs/tj-secret-a")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#content")).to_be_hidden()
    assert "meter-secret" not in page.content()


def test_the_list_shows_live_progress_counts_and_filters(
    dashboard_url: str,
    api: httpx.Client,
    cluster: TrainingJobs,
    models_dir: Path,
    desktop: Any,
    phone: Any,
    watch: list[Watched],
) -> None:
    create(api, "tj-live-a", "meter-a")
    create(api, "tj-live-b", "meter-b", "water")
    create(api, "tj-live-c", "meter-c")
    create(api, "tj-live-d", "meter-d")
    cluster.patch_status("tj-live-a", training(35, 1))
    model = write_model(
        models_dir, "water", "meter-b", "20260101T100409Z", "tj-live-b", current=True
    )
    cluster.patch_status("tj-live-b", succeeded(model))
    cluster.patch_status("tj-live-c", failed())

    page = open_page(desktop, f"{dashboard_url}/", watch, dashboard_url)
    sign_in(page)
    row = page.locator('tr[data-job="tj-live-a"]')
    bar = row.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "35")
    expect(row).to_contain_text("meter-a")
    expect(row).to_contain_text("Training")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    fill = row.locator(".progress-fill")
    width_before = fill.bounding_box()["width"]  # type: ignore[index]

    # The trainer reports progress: the bar moves while the page is open, without a reload.
    cluster.patch_status("tj-live-a", training(62, 5))
    expect(bar).to_have_attribute("aria-valuenow", "62")
    expect(row.locator(".progress-text")).to_have_text("62%")
    page.wait_for_function(
        "w => document.querySelector('tr[data-job=\"tj-live-a\"] .progress-fill')"
        ".getBoundingClientRect().width > w * 1.5",
        arg=width_before,
    )

    # Phases: text and shape in every row; counts by phase.
    expect(page.locator('tr[data-job="tj-live-b"] .phase')).to_have_text("Succeeded")
    expect(page.locator('tr[data-job="tj-live-c"] .phase')).to_have_text("Failed")
    expect(page.locator('tr[data-job="tj-live-d"] .phase')).to_have_text("Pending")
    expect(page.locator('tr[data-job="tj-live-a"] .phase svg')).to_have_count(1)
    expect(page.locator('#counts button[data-phase=""] .count-number')).to_have_text("4")
    expect(page.locator('#counts button[data-phase="Training"] .count-number')).to_have_text("1")
    screenshot(page, "list-1280")

    # Filters: phase, type, meter; kept in the URL (without the token).
    page.get_by_label("Phase", exact=True).select_option("Failed")
    expect(page.locator("tbody tr:visible")).to_have_count(1)
    expect(page.locator("tbody tr:visible")).to_have_attribute("data-job", "tj-live-c")
    assert "phase=Failed" in page.url
    clear_filters(page)
    page.get_by_label("Type", exact=True).select_option("water")
    expect(page.locator("tbody tr:visible")).to_have_count(1)
    expect(page.locator("tbody tr:visible")).to_have_attribute("data-job", "tj-live-b")
    clear_filters(page)
    page.get_by_label("Meter", exact=True).fill("meter-d")
    expect(page.locator("tbody tr:visible")).to_have_count(1)
    expect(page.locator("tbody tr:visible")).to_have_attribute("data-job", "tj-live-d")
    clear_filters(page)
    page.locator('#counts button[data-phase="Succeeded"]').click()
    expect(page.locator("tbody tr:visible")).to_have_count(1)
    expect(page.locator('#counts button[data-phase="Succeeded"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    clear_filters(page)

    # A job created and deleted while the page is open comes and goes.
    create(api, "tj-live-e", "meter-e")
    expect(page.locator('tr[data-job="tj-live-e"]')).to_be_visible()
    assert api.delete("/v1/trainingjobs/tj-live-e").status_code == 204
    expect(page.locator('tr[data-job="tj-live-e"]')).to_have_count(0)

    # Keyboard: the job link is reachable and opens the job page.
    page.locator('tr[data-job="tj-live-b"] a').focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/jobs/tj-live-b$"))
    assert TOKEN not in page.url

    # The same list on a phone: one card per job, no sideways scrolling.
    small = open_page(phone, f"{dashboard_url}/", watch, dashboard_url)
    sign_in(small)
    expect(small.locator('tr[data-job="tj-live-a"]').get_by_role("progressbar")).to_have_attribute(
        "aria-valuenow", "62"
    )
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(small, "list-phone")


def test_a_job_page_draws_its_plots_metrics_and_lineage(
    dashboard_url: str,
    api: httpx.Client,
    cluster: TrainingJobs,
    models_dir: Path,
    desktop: Any,
    phone: Any,
    watch: list[Watched],
) -> None:
    create(api, "tj-plot-old", "meter-dash")
    create(api, "tj-plot", "meter-dash")
    write_model(
        models_dir, "electricity", "meter-dash", "20251201T000000Z", "tj-plot-old", current=False
    )
    model = write_model(
        models_dir, "electricity", "meter-dash", "20260101T100409Z", "tj-plot", current=True
    )
    cluster.patch_status("tj-plot", succeeded(model))

    page = open_page(desktop, f"{dashboard_url}/jobs/tj-plot", watch, dashboard_url)
    sign_in(page)
    expect(page.locator("#phase .phase")).to_have_text("Succeeded")
    loss = page.locator("#loss-chart")
    holdout = page.locator("#holdout-chart")
    expect(loss).to_have_attribute("data-points", "12")
    expect(loss).to_have_attribute("data-series", "2")
    expect(holdout).to_have_attribute("data-points", "336")
    expect(holdout).to_have_attribute("data-series", "4")
    for chart in ("#loss-chart", "#holdout-chart"):
        # Drawn, not just present: the plot canvas holds many non-blank pixels.
        inked = page.evaluate(
            """sel => {
                const c = document.querySelector(sel + ' canvas');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                return n;
            }""",
            chart,
        )
        assert inked > 2000, chart
    expect(page.locator("#holdout-caption")).to_contain_text("naive weekly: dotted")
    expect(page.locator(".uplot .u-legend")).to_have_count(2)

    # Metrics: the model next to the two baselines, the best one said in words.
    rows = page.locator("#metrics tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator('#metrics tr[data-forecast="model"]')).to_contain_text("best sMAPE")
    expect(page.locator('#metrics tr[data-forecast="naiveWeekly"]')).to_contain_text("15.2")

    # Model path and lineage: both versions, this one current, the older one linked.
    expect(page.locator("#model-facts")).to_contain_text(f"models/{model}")
    expect(page.locator("#lineage tbody tr")).to_have_count(2)
    expect(page.locator("#lineage tbody tr").first).to_contain_text("yes (current)")
    expect(page.locator("#lineage a")).to_have_text("tj-plot-old")

    # Timeline: conditions with their reasons.
    expect(page.locator("#timeline")).to_contain_text("TrainingSucceeded")
    expect(page.locator("#timeline")).to_contain_text("Complete: True")
    # A finished job offers only Retrain.
    expect(page.get_by_role("button", name="Suspend")).to_be_disabled()
    expect(page.get_by_role("button", name="Retrain")).to_be_enabled()
    screenshot(page, "job-1280")
    page.get_by_text("Loss as a table").click()
    expect(page.locator("#loss-table tbody tr")).to_have_count(12)

    small = open_page(phone, f"{dashboard_url}/jobs/tj-plot", watch, dashboard_url)
    sign_in(small)
    expect(small.locator("#holdout-chart")).to_have_attribute("data-points", "336")
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(small, "job-phone")


def test_suspend_and_cancel_through_the_confirm_dialog_change_the_trainingjob(
    dashboard_url: str, api: httpx.Client, cluster: TrainingJobs, desktop: Any, watch: list[Watched]
) -> None:
    create(api, "tj-act", "meter-act")
    cluster.patch_status("tj-act", training(40, 3))
    page = open_page(desktop, f"{dashboard_url}/jobs/tj-act", watch, dashboard_url)
    sign_in(page)
    suspend = page.get_by_role("button", name="Suspend")
    expect(suspend).to_be_enabled()
    expect(page.get_by_role("button", name="Resume")).to_be_disabled()

    # Escape closes the dialog and changes nothing; focus goes back to the button.
    suspend.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("button", name="Keep it as it is")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(suspend).to_be_focused()
    assert cluster.get("tj-act")["spec"].get("suspend") is not True

    # Confirmed: spec.suspend is true on the cluster, and the page says so.
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    screenshot(page, "confirm-suspend-1280")
    page.get_by_role("button", name="Suspend", exact=True).last.click()
    expect(page.locator("#action-result")).to_have_text("Suspended.")
    assert cluster.get("tj-act")["spec"]["suspend"] is True
    expect(page.get_by_role("button", name="Resume")).to_be_enabled()

    # The operator reports Suspended: the page follows the stream.
    cluster.patch_status("tj-act", {"phase": "Suspended", "message": "suspended by a user"})
    expect(page.locator("#phase .phase")).to_have_text("Suspended")
    expect(page.locator("#timeline")).to_contain_text("Suspended")

    # Cancel for good: the annotation is set, the page shows Cancelled, only Retrain is left.
    page.get_by_role("button", name="Cancel job").click()
    page.get_by_role("button", name="Cancel the job").click()
    expect(page.locator("#action-result")).to_have_text("Cancelled.")
    annotations = cluster.get("tj-act")["metadata"].get("annotations") or {}
    assert annotations.get("wattcast.dev/cancelled") == "true"
    expect(page.locator("#phase .phase")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Resume")).to_be_disabled()
    expect(page.get_by_role("button", name="Cancel job")).to_be_disabled()
    expect(page.get_by_role("button", name="Retrain")).to_be_enabled()


def test_a_close_still_queued_from_an_earlier_opening_does_not_answer_the_confirm_dialog(
    dashboard_url: str, api: httpx.Client, desktop: Any, watch: list[Watched]
) -> None:
    # Escape and then at once Enter: the dialog opens again before its first close event
    # (queued, not fired at once) arrives. That event must not answer the new opening.
    create(api, "tj-twice", "meter-twice")
    page = open_page(desktop, f"{dashboard_url}/jobs/tj-twice", watch, dashboard_url)
    sign_in(page)
    expect(page.get_by_role("button", name="Suspend")).to_be_enabled()
    answers = page.evaluate(
        """async () => {
            const w = window.wattcast;
            const dialog = document.getElementById("confirm");
            const ask = (title) => w.confirmDialog({ title, text: "", confirmLabel: "Yes" });
            const first = ask("First?");
            dialog.close();  // as Escape does: its close event is queued
            const second = ask("Second?");
            const firstAnswer = await first;
            await new Promise((done) => setTimeout(done, 100));  // the queued close arrives
            const openAfterIt = dialog.open;
            document.getElementById("confirm-ok").click();
            return [firstAnswer, openAfterIt, await second];
        }"""
    )
    assert answers == [False, True, True]


def test_a_failed_job_shows_why_and_retrain_makes_a_new_job_with_the_same_spec(
    dashboard_url: str, api: httpx.Client, cluster: TrainingJobs, desktop: Any, watch: list[Watched]
) -> None:
    create(api, "tj-fail", "meter-fail", "water")
    cluster.patch_status("tj-fail", failed())
    page = open_page(desktop, f"{dashboard_url}/jobs/tj-fail", watch, dashboard_url)
    sign_in(page)
    expect(page.locator("#failure")).to_be_visible()
    expect(page.locator("#failure-reason")).to_have_text("DataInsufficient")
    expect(page.locator("#failure-message")).to_contain_text("need 29.0")
    expect(page.locator("#loss-caption")).to_have_text("This job failed, so it saved no model.")
    expect(page.get_by_text("Loss as a table")).to_be_hidden()
    screenshot(page, "job-failed-1280")

    page.get_by_role("button", name="Retrain").click()
    page.get_by_role("button", name="Start a new job").click()
    expect(page).not_to_have_url(re.compile(r"/jobs/tj-fail$"))
    expect(page.locator("#phase .phase")).to_have_text("Pending")
    names = cluster.names()
    assert len(names) == 2
    new = next(n for n in names if n != "tj-fail")
    assert page.url.endswith(f"/jobs/{new}")
    old_spec, new_spec = cluster.get("tj-fail")["spec"], cluster.get(new)["spec"]
    assert new_spec == old_spec
