"""The customers list and the customer page (360 view), for an admin and for relationship managers."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def listed_ids(page) -> set[str]:
    return set(page.locator("main table tbody tr td:first-child a").all_inner_texts())


def test_an_admin_opens_a_customer_from_the_list_and_sees_its_tiers_with_reasons(page, bank):
    sign_in(page, bank, "admin")
    page.get_by_role("navigation").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    page.get_by_role("link", name="P1", exact=True).click()

    expect(page.get_by_role("heading", name="王总")).to_be_visible()
    value = page.locator('tr.customer-tier[data-dimension="value"]')
    expect(value).to_contain_text("Private banking")
    expect(value).to_contain_text("Its rule matched")
    expect(value.locator("ul.reason")).to_contain_text("3-month avg daily balance (RMB)")  # the label, not the code
    expect(value.locator("ul.reason")).to_contain_text("7,000,000")
    expect(page.locator("tr.customer-tier")).not_to_have_count(0)


def test_an_rm_sees_only_their_own_book_and_another_rms_customer_is_not_found(page, bank):
    sign_in(page, bank, "rm1")
    page.get_by_role("navigation").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    assert listed_ids(page) == {"P1", "W1"}

    response = page.goto(f"/t/{bank.slug}/customers/{bank.customers['M1']}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="张先生")).to_have_count(0)
    assert page.goto(f"/t/{bank.slug}/customers/{bank.customers['P1']}").status == 200
