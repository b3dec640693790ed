"""Signing in through the real page: the form, the redirect home, the refusal of a wrong password."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def test_a_tenant_admin_signs_in_and_lands_on_the_home_page(page, bank):
    sign_in(page, bank, "admin")
    expect(page).to_have_url(re.compile(rf"/t/{bank.slug}/$"))
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(bank.email("admin"))
    expect(page.get_by_role("link", name="Users")).to_be_visible()  # an admin's menu
    assert page.url.endswith(f"/t/{bank.slug}/")


def test_a_wrong_password_is_refused_with_the_pages_message(page, bank):
    sign_in(page, bank, "admin", password="not-the-password")
    expect(page.get_by_role("status")).to_have_text("Invalid email or password.")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="Customers")).to_have_count(0)
    assert f"/t/{bank.slug}/login" in page.url  # still on the sign-in page
