"""`/docs` in Debian's chromium (headless): Swagger UI from the package's own files renders
every operation of the OpenAPI document, with no request leaving the API's origin and no
Content-Security-Policy violation or script error."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(120)


def test_swagger_ui_renders_the_document_from_the_package(dashboard_url: str, desktop: Any) -> None:
    page = desktop.new_page()
    errors: list[str] = []
    urls: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in {"error", "warning"} else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: urls.append(r.url))
    page.goto(f"{dashboard_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("wattcast API")
    expect(page.locator(".opblock-summary-path", has_text="/v1/trainingjobs").first).to_be_visible()
    assert page.locator(".opblock").count() >= 14
    # Open one operation: its parameters render too (the UI works, not only its shell).
    page.locator(".opblock-summary", has_text="/trainmodel/status/{task_id}").first.click()
    expect(page.locator(".parameters-container").first).to_be_visible()
    assert errors == []
    foreign = [u for u in urls if not u.startswith(dashboard_url) and not u.startswith("data:")]
    assert foreign == [], "the docs must load nothing from elsewhere"
