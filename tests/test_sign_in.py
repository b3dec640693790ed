"""Signing in to a tenant: generic failures, throttling, CSRF, sessions, passwords."""
from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import PASSWORD, csrf_token_from
from tierwise.platform import tenancy
from tierwise.platform.audit import AuditEvent
from tierwise.platform.db import db
from tierwise.platform.login import MAX_FAILURES_PER_EMAIL


def audit_actions(app, world) -> list[str]:
    with app.app_context(), tenancy.tenant_scope(world.tenant_id):
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_admin_signs_in_and_home_shows_who_and_which_role(browser, tenant_a):
    response = browser.login(tenant_a, "admin")
    assert response.status_code == 302 and response.location.endswith(f"/t/{tenant_a.slug}/")
    home = browser.get(f"/t/{tenant_a.slug}/")
    assert home.status_code == 200
    assert tenant_a.email("admin") in home.text and "Tenant admin" in home.text


def test_relationship_manager_home_shows_their_role_and_branch(browser, tenant_a):
    browser.login(tenant_a, "rm1")
    home = browser.get(f"/t/{tenant_a.slug}/")
    assert "Relationship manager" in home.text and "North" in home.text


def test_wrong_password_and_unknown_email_get_the_same_generic_error(app, browser, tenant_a):
    wrong = browser.login(tenant_a, "admin", password="not-the-password")
    browser_unknown = browser.submit(f"/t/{tenant_a.slug}/login", {"email": "nobody@nowhere.test", "password": "x" * 12})
    for response in (wrong, browser_unknown):
        assert response.status_code == 401
        assert "Invalid email or password." in response.text
    assert "nobody@nowhere.test" not in browser_unknown.text.split("<main>")[1].split("value=")[0]
    assert audit_actions(app, tenant_a).count("login.failure") == 2


def test_repeated_failures_throttle_the_account_even_with_the_right_password(app, browser, tenant_a):
    for _ in range(MAX_FAILURES_PER_EMAIL):
        assert browser.login(tenant_a, "rm1", password="wrong-password-1").status_code == 401
    throttled = browser.login(tenant_a, "rm1", password=PASSWORD)
    assert throttled.status_code == 429
    assert "Too many failed sign-in attempts" in throttled.text
    assert browser.get(f"/t/{tenant_a.slug}/").status_code == 302  # still signed out
    assert "login.throttled" in audit_actions(app, tenant_a)
    # Other accounts of the tenant are not locked out by one account's failures.
    assert browser.login(tenant_a, "rm2").status_code == 302


def test_login_post_without_csrf_token_is_rejected(client, tenant_a):
    response = client.post(f"/t/{tenant_a.slug}/login", data={"email": tenant_a.email("admin"), "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.text
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302


def test_signed_in_form_post_without_csrf_token_is_rejected(browser, client, tenant_a):
    browser.login(tenant_a, "admin")
    response = client.post(f"/t/{tenant_a.slug}/branches/", data={"code": "NOCSRF", "name": "No token"})
    assert response.status_code == 400
    assert "NOCSRF" not in browser.get(f"/t/{tenant_a.slug}/branches/").text


def test_unknown_tenant_slug_is_404(client):
    assert client.get("/t/no-such-tenant/login").status_code == 404
    assert client.get("/t/no-such-tenant/").status_code == 404


def test_sign_out_requires_post_and_ends_the_session(browser, client, tenant_a):
    browser.login(tenant_a, "admin")
    assert client.get(f"/t/{tenant_a.slug}/logout").status_code == 405
    home = browser.get(f"/t/{tenant_a.slug}/")
    response = client.post(f"/t/{tenant_a.slug}/logout", data={"csrf_token": csrf_token_from(home.text)})
    assert response.status_code == 302
    assert browser.get(f"/t/{tenant_a.slug}/").status_code == 302


def test_changing_password_signs_out_other_sessions(app, browser, tenant_a):
    other_device = app.test_client()
    from tests.conftest import Browser

    Browser(other_device).login(tenant_a, "rm1")
    assert other_device.get(f"/t/{tenant_a.slug}/").status_code == 200
    browser.login(tenant_a, "rm1")
    changed = browser.submit(f"/t/{tenant_a.slug}/password", {
        "current_password": PASSWORD, "new_password": "a-brand-new-secret", "confirm": "a-brand-new-secret"})
    assert changed.status_code == 302
    assert browser.get(f"/t/{tenant_a.slug}/").status_code == 200  # this session carries on
    assert other_device.get(f"/t/{tenant_a.slug}/").status_code == 302  # the other one is signed out
    assert browser.login(tenant_a, "rm1", password="a-brand-new-secret").status_code == 302
    assert "user.password_changed" in audit_actions(app, tenant_a)


def test_password_change_with_wrong_current_password_changes_nothing(browser, tenant_a):
    browser.login(tenant_a, "rm1")
    response = browser.submit(f"/t/{tenant_a.slug}/password", {
        "current_password": "not-my-password", "new_password": "another-secret-1", "confirm": "another-secret-1"})
    assert response.status_code == 400 and "is not your current password" in response.text
    assert browser.login(tenant_a, "rm1", password=PASSWORD).status_code == 302


def test_open_redirect_after_login_is_refused(browser, tenant_a, tenant_b):
    for target in ("https://evil.example/", f"/t/{tenant_b.slug}/", "//evil.example/"):
        response = browser.submit(f"/t/{tenant_a.slug}/login?next={target}",
                                  {"email": tenant_a.email("admin"), "password": PASSWORD})
        assert response.location.endswith(f"/t/{tenant_a.slug}/"), target


def test_session_cookie_is_httponly_and_samesite(browser, tenant_a):
    response = browser.login(tenant_a, "admin")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_parallel_guesses_cannot_outrun_the_throttle(app, tenant_a):
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import Browser

    browsers = [Browser(app.test_client()) for _ in range(12)]
    pages = [b.get(f"/t/{tenant_a.slug}/login") for b in browsers]  # CSRF tokens first, then the burst

    def guess(pair):
        person, page = pair
        return person.client.post(f"/t/{tenant_a.slug}/login", data={
            "email": tenant_a.email("rm2"), "password": "wrong-guess-12", "csrf_token": csrf_token_from(page.text)
        }).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(guess, zip(browsers, pages)))
    assert statuses.count(401) == MAX_FAILURES_PER_EMAIL and statuses.count(429) == 12 - MAX_FAILURES_PER_EMAIL
    assert audit_actions(app, tenant_a).count("login.failure") == MAX_FAILURES_PER_EMAIL


def test_a_copied_session_cookie_stops_working_after_sign_out(app, browser, tenant_a):
    browser.login(tenant_a, "analyst")
    cookie = browser.client.get_cookie("tierwise_session").value
    thief = app.test_client()
    thief.set_cookie("tierwise_session", cookie)
    assert thief.get(f"/t/{tenant_a.slug}/").status_code == 200
    home = browser.get(f"/t/{tenant_a.slug}/")
    browser.client.post(f"/t/{tenant_a.slug}/logout", data={"csrf_token": csrf_token_from(home.text)})
    assert thief.get(f"/t/{tenant_a.slug}/").status_code == 302
