"""The pages work under their Content-Security-Policy: charts drawn, the language menu switches, nothing refused."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def test_the_dashboard_draws_its_charts_and_the_language_menu_switches_with_no_script_refused(page, bank):
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)
    sign_in(page, bank, "admin")
    page.goto(f"/t/{bank.slug}/dashboard")
    expect(page.locator("[data-chart] canvas").first).to_be_visible()  # ECharts ran from static/, not inline
    with page.expect_navigation():
        page.locator("select[name=locale]").select_option("zh_CN")  # static/tierwise.js submits the form
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert refused == []
