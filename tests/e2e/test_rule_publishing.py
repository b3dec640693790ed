"""A tenant admin changes a threshold in the rule editor, previews what it would do, and publishes it."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def test_an_admin_lowers_a_threshold_previews_the_moves_and_publishes_a_new_version(page, bank):
    sign_in(page, bank, "admin")
    page.get_by_role("navigation").get_by_role("link", name="Tiers").click()
    expect(page.locator('[data-tier="value.private_banking"]')).to_have_attribute("data-customers", "1")
    page.get_by_role("link", name="Edit rules").click()
    expect(page.get_by_role("heading", name="Edit tiering rules")).to_be_visible()

    private_banking = page.locator("li.tier-editor").filter(has=page.locator('input[value="private_banking"]'))
    rule = private_banking.get_by_label("Rule")
    expect(rule).to_have_value("aum_avg_3m >= 6000000")
    rule.fill("aum_avg_3m >= 1000000")
    page.get_by_label("Note").fill("Private banking from 1M")
    page.get_by_role("button", name="Save and preview").click()

    expect(page.get_by_role("heading", name="Preview of the draft")).to_be_visible()
    value = page.locator("#preview-value")
    counts = {row.locator("td").nth(0).inner_text().strip(): row.locator("td").nth(1).inner_text()
              for row in value.locator("table").first.locator("tbody tr").all()}
    assert counts["Private banking"] == "2"  # the wealth-centre customer moves up
    matrix = value.locator("table.matrix")
    expect(matrix).to_be_visible()
    expect(matrix.locator("td.diagonal")).not_to_have_count(0)
    expect(value.get_by_role("link", name="李女士")).to_be_visible()  # moving up, with a link to the customer

    page.once("dialog", lambda dialog: dialog.accept())  # "Publish the saved draft as the next version?"
    page.get_by_role("button", name="Publish").first.click()
    expect(page).to_have_url(re.compile(rf"/t/{bank.slug}/rules/$"))
    expect(page.get_by_text("Version 2 is published and in force.")).to_be_visible()

    page.get_by_role("link", name="Version history").click()
    newest = page.locator("tbody tr").first
    expect(newest).to_contain_text("Version 2")
    expect(newest).to_contain_text("In force")
    expect(newest).to_contain_text("Private banking from 1M")
