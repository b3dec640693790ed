"""The VIP list with a filter, and its CSV export.

Written against the list pages' agreed contract: a ``/lists/vip`` page with a
filter form (a tier select), a table ``data-testid="list-table"`` with rows
``data-testid="list-row"``, and a ``data-testid="export-csv"`` link or button
that downloads a ``.csv`` whose header names ``external_id``.  Both tests skip
while the app has no such route.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.live_app import app_serves

needs_list_pages = pytest.mark.skipif(not app_serves("/t/any/lists/vip"),
                                      reason="the VIP list page (/lists/vip) is not in the app yet")


def listed_ids(page) -> set[str]:
    return set(page.get_by_test_id("list-row").locator("td:first-child").all_inner_texts())


def value_tier_filter(page):
    """The filter form's select for the value tier: by its test id, else by its name."""
    form = page.locator("main form").filter(has=page.locator("select"))
    for selector in ('[data-testid="filter-value-tier"]', 'select[name="tier"]', 'select[name^="tier"]'):
        if form.locator(selector).count():
            return form.locator(selector).first
    raise AssertionError("the VIP list has no tier filter")


@needs_list_pages
def test_an_admin_narrows_the_vip_list_to_private_banking(page, bank):
    sign_in(page, bank, "admin")
    page.goto(f"/t/{bank.slug}/lists/vip")
    expect(page.get_by_test_id("list-table")).to_be_visible()
    assert listed_ids(page) == {"P1", "W1"}  # the bank's VIP tiers; the mass customers are not on it

    value_tier_filter(page).select_option(label="Private banking")
    with page.expect_navigation():
        page.locator("main form").filter(has=page.locator("select")).get_by_role("button").first.click()
    expect(page.get_by_test_id("list-row")).to_have_count(1)
    assert listed_ids(page) == {"P1"}


@needs_list_pages
def test_an_admin_exports_the_vip_list_as_csv(page, bank, tmp_path):
    sign_in(page, bank, "admin")
    page.goto(f"/t/{bank.slug}/lists/vip")
    with page.expect_download() as started:
        page.get_by_test_id("export-csv").click()
    download = started.value
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    lines = saved.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("Customer id,")  # the headings the page shows, in the user's language
    assert any(line.startswith("P1,") or ",P1," in line for line in lines[1:])
