"""The dashboard's forecast plot, in a real browser, from a model the whole stack trained.

REST → operator → Job → kubelet → trainer (Flux, read-only token) → model store; then Debian's
chromium opens the job page, signs in and must draw the meter's forecast from
`GET /v1/forecasts/...` (the API's numpy-backend forecasting path reading InfluxDB 2) next to
its recent readings: the chart's points and series are the API's, its canvas is inked, and the
caption names the model version the API used.
"""

from __future__ import annotations

from typing import Any

from e2e_support import E2E, TINY_MODEL, unique

ACTUALS_HOURS = 72  # what the job page asks for (job.js)


def test_the_job_page_draws_the_meters_forecast_next_to_its_readings(
    e2e: E2E, desktop: Any
) -> None:
    from playwright.sync_api import expect

    meter = unique("plot")
    e2e.load_meter(meter)
    name = e2e.create(meter, model={**TINY_MODEL, "promote": "always"})
    e2e.wait_success(name)
    # The API imported Keras while it started (its log says so), not on this first request;
    # the first model load and InfluxDB read remain, hence the generous timeout.
    assert e2e.stack.api is not None
    assert "forecasting path ready" in e2e.stack.api.log_path.read_text()
    answer = e2e.http.get(
        f"/v1/forecasts/electricity/{meter}",
        params={"actualsHours": ACTUALS_HOURS},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected_points = len(body["actuals"]) + len(body["points"])
    # The synthetic meter has gaps: the readings present in the last 72 hours.
    assert len(body["points"]) == 24 and 0 < len(body["actuals"]) <= ACTUALS_HOURS

    page = desktop.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{e2e.stack.api_url}/jobs/{name}")
    field = page.get_by_label("API token")
    field.fill(e2e.stack.token)
    field.press("Enter")

    chart = page.locator("#forecast-chart")
    expect(chart).to_have_attribute("data-points", str(expected_points), timeout=60_000)
    expect(chart).to_have_attribute("data-series", "4")  # actual, forecast, lower, upper
    caption = page.locator("#forecast-caption")
    expect(caption).to_contain_text(f"Model {body['modelVersion']}")
    expect(caption).to_contain_text("24 points with a ")
    expect(caption).to_contain_text(f"after {len(body['actuals'])} hours of readings")
    inked = page.evaluate(
        """() => {
            const c = document.querySelector('#forecast-chart canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
        }"""
    )
    assert inked > 1000, "the forecast chart's canvas is blank"
    assert errors == []
