"""Signing in, signing out and the home page, as a user meets them."""
from tests.conftest import PASSWORD


def test_admin_signs_in_and_sees_who_they_are(browser, tenant_a):
    response = browser.login(tenant_a, "admin")
    assert response.status_code == 302
    home = browser.get(f"/t/{tenant_a.slug}/")
    assert home.status_code == 200
    assert tenant_a.email("admin") in home.text
    assert "Tenant admin" in home.text
