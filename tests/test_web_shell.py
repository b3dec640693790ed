"""The web shell as a visitor meets it: landing page, languages, tokens page, operator console."""
from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, Browser, csrf_token_from
from tierwise.platform.db import db


def test_landing_page_sends_you_to_your_tenants_login(browser, tenant_a):
    response = browser.submit("/", {"slug": tenant_a.slug.upper()})
    assert response.status_code == 302 and response.location.endswith(f"/t/{tenant_a.slug}/login")
    unknown = browser.submit("/", {"slug": "nobody-here"})
    assert unknown.status_code == 404 and "No organisation with that code" in unknown.text
    empty = browser.submit("/", {"slug": "  "})
    assert empty.status_code == 400  # nothing typed: a bad request, not an organisation that is missing


def test_a_slug_typed_in_capitals_leads_to_the_same_page_at_the_organisations_own_address(browser, tenant_a):
    typed = tenant_a.slug.upper()
    sign_in = browser.get(f"/t/{typed}/login?next=/t/{tenant_a.slug}/lists/")
    assert sign_in.status_code == 308
    assert sign_in.location.endswith(f"/t/{tenant_a.slug}/login?next=/t/{tenant_a.slug}/lists/")
    assert browser.get(sign_in.location).status_code == 200
    customer = "0b7c3f52-6f0e-4c4e-9d7a-3f1f4a2b8c11"
    deeper = browser.get(f"/t/{tenant_a.slug.capitalize()}/customers/{customer}?tier=a&tier=b")
    assert deeper.status_code == 308 and deeper.location.endswith(f"/t/{tenant_a.slug}/customers/{customer}?tier=a&tier=b")
    posted = browser.client.post(f"/t/{typed}/login", data={"email": tenant_a.email("admin"), "password": PASSWORD})
    assert posted.status_code == 308 and posted.location.endswith(f"/t/{tenant_a.slug}/login")  # posted again there
    assert browser.get("/t/NOBODY-HERE/login").status_code == 404


def test_the_landing_page_switches_language_and_the_organisations_sign_in_follows(browser, tenant_a):
    landing = browser.get("/").text
    assert 'action="/locale"' in landing and 'lang="en"' in landing  # the switcher, as on every other page
    chosen = browser.submit("/", {"locale": "zh_CN"}, action="/locale")
    assert chosen.status_code == 302 and chosen.location.endswith("/")
    assert 'lang="zh-CN"' in browser.get("/").text
    assert "登录" in browser.get(f"/t/{tenant_a.slug}/login").text  # the choice goes on to the sign-in page
    browser.submit("/", {"locale": "klingon"}, action="/locale")  # not a language we have: nothing changes
    assert 'lang="zh-CN"' in browser.get("/").text


def test_an_error_page_inside_an_organisation_leads_back_to_its_home(browser, tenant_a):
    browser.login(tenant_a, "rm1")
    page = browser.get(f"/t/{tenant_a.slug}/customers/{'0' * 8}-0000-7000-8000-{'0' * 12}")
    assert page.status_code == 404
    assert f'<a href="/t/{tenant_a.slug}/">' in page.text.split("<main")[1]
    nowhere = browser.get(f"/t/{tenant_a.slug}/no-such-page")  # no page answers: still the organisation's home
    assert nowhere.status_code == 404 and f'<a href="/t/{tenant_a.slug}/">' in nowhere.text.split("<main")[1]
    top_bar = nowhere.text.split("<main")[0]  # still inside the site: its name and the signed-in user's menu
    assert "tenant-name" in top_bar and f'href="/t/{tenant_a.slug}/lists/"' in top_bar
    assert '<a href="/">' in browser.get("/t/no-such-organisation/x").text.split("<main")[1]


def test_an_address_no_page_answers_is_said_in_the_signed_in_users_language(app, tenant_a):
    from tests.conftest import Browser

    chooser = Browser(app.test_client())
    chooser.login(tenant_a, "rm1")
    chooser.submit(f"/t/{tenant_a.slug}/", {"locale": "zh_CN", "next": f"/t/{tenant_a.slug}/"},
                   action=f"/t/{tenant_a.slug}/locale")  # kept on the account
    browser = Browser(app.test_client())  # another day, another browser: English, and no choice in its session
    browser.login(tenant_a, "rm1")
    english = {"Accept-Language": "en"}
    for address in ("no-such-page", "customers/not-a-uuid"):
        page = browser.get(f"/t/{tenant_a.slug}/{address}", headers=english)
        assert page.status_code == 404 and 'lang="zh-CN"' in page.text and "Not found." not in page.text, address


def test_chinese_browsers_get_chinese_pages(client, tenant_a):
    page = client.get(f"/t/{tenant_a.slug}/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "登录" in page.text and 'lang="zh-CN"' in page.text


def test_a_user_switches_language_and_it_sticks_to_their_account(app, browser, tenant_a):
    browser.login(tenant_a, "rm1")
    browser.submit(f"/t/{tenant_a.slug}/", {"locale": "zh_CN", "next": f"/t/{tenant_a.slug}/"},
                   action=f"/t/{tenant_a.slug}/locale")
    assert "客户经理" in browser.get(f"/t/{tenant_a.slug}/").text
    other_device = Browser(app.test_client())
    other_device.login(tenant_a, "rm1")
    assert "客户经理" in other_device.get(f"/t/{tenant_a.slug}/").text  # saved on the account
    browser.submit(f"/t/{tenant_a.slug}/", {"locale": "en", "next": f"/t/{tenant_a.slug}/"},
                   action=f"/t/{tenant_a.slug}/locale")
    assert "Relationship manager" in browser.get(f"/t/{tenant_a.slug}/").text


def test_the_language_picked_on_the_sign_in_page_is_kept_after_signing_in(app, browser, tenant_a):
    browser.login(tenant_a, "rm1")
    browser.submit(f"/t/{tenant_a.slug}/", {"locale": "en", "next": f"/t/{tenant_a.slug}/"},
                   action=f"/t/{tenant_a.slug}/locale")  # English saved on the account
    at_the_door = Browser(app.test_client())
    at_the_door.submit(f"/t/{tenant_a.slug}/login", {"locale": "zh_CN", "next": f"/t/{tenant_a.slug}/login"},
                       action=f"/t/{tenant_a.slug}/locale")
    assert "登录" in at_the_door.get(f"/t/{tenant_a.slug}/login").text
    at_the_door.login(tenant_a, "rm1")
    assert "客户经理" in at_the_door.get(f"/t/{tenant_a.slug}/").text  # the latest choice, now the account's
    assert "客户经理" in browser.get(f"/t/{tenant_a.slug}/").text


def test_token_secret_is_shown_once_and_then_only_its_prefix(browser, client, tenant_a):
    browser.login(tenant_a, "rm1")
    page = browser.get(f"/t/{tenant_a.slug}/tokens/").text
    sent = {"name": "morning export", "csrf_token": csrf_token_from(page),
            "once": re.search(r'name="once" value="([^"]+)"', page)[1]}
    created = browser.client.post(f"/t/{tenant_a.slug}/tokens/", data=sent)
    secret = re.search(r"tw_[A-Za-z0-9_\-]+", created.text).group(0)
    again = browser.client.post(f"/t/{tenant_a.slug}/tokens/", data=sent)  # the "created" page reloaded
    assert again.status_code == 302 and "tw_" not in again.get_data(as_text=True)
    assert "already sent" in browser.get(again.location).text
    mine = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"}).json["items"]
    assert [t["name"] for t in mine] == ["morning export"]  # one token, not a second
    assert secret.startswith(f"tw_{tenant_a.slug}_")
    listing = browser.get(f"/t/{tenant_a.slug}/tokens/")
    assert "morning export" in listing.text and secret not in listing.text
    assert 'data-confirm="Revoke the token morning export?' in listing.text  # asked before, by every page's script
    assert "data-confirm" in browser.get("/static/tierwise.js").get_data(as_text=True)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_an_rm_cannot_revoke_a_colleagues_token(browser, issue_token, tenant_a, client, app):
    colleague_secret = issue_token(tenant_a, "rm2")
    colleague_token = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {colleague_secret}"}).json["items"][0]
    browser.login(tenant_a, "rm1")
    response = browser.submit(f"/t/{tenant_a.slug}/tokens/", {}, action=f"/t/{tenant_a.slug}/tokens/{colleague_token['id']}/revoke")
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {colleague_secret}"}).status_code == 200


def test_operator_creates_a_tenant_whose_admin_can_sign_in(app, browser, operator):
    assert browser.get("/operator/").status_code == 302
    assert browser.submit("/operator/login", {"email": operator, "password": PASSWORD}).status_code == 302
    import secrets

    slug = f"op-{secrets.token_hex(3)}"
    response = browser.submit("/operator/", {"slug": slug, "name": "华东医药 East Pharma", "industry": "pharma_distributor",
                                             "admin_email": "boss@east.test", "admin_password": "first-admin-pass"})
    assert response.status_code == 302
    assert slug in browser.get("/operator/").text
    admin = Browser(app.test_client())
    assert admin.submit(f"/t/{slug}/login", {"email": "boss@east.test", "password": "first-admin-pass"}).status_code == 302


def test_an_operator_sets_a_new_tenants_clock_and_an_unknown_zone_is_refused_beside_it(app, browser, operator):
    import secrets

    from tierwise.platform.tenant import find_tenant

    browser.submit("/operator/login", {"email": operator, "password": PASSWORD})
    console = browser.get("/operator/").text
    assert 'name="timezone"' in console and 'value="Asia/Shanghai"' in console  # the default, shown
    slug = f"uk-{secrets.token_hex(3)}"
    sent = {"slug": slug, "name": "UK Retail", "industry": "other", "admin_email": "boss@uk.test",
            "admin_password": "first-admin-pass"}
    refused = browser.submit("/operator/", {**sent, "timezone": "London"})
    assert refused.status_code == 400
    assert "unknown time zone &#39;London&#39;" in refused.text.split('name="timezone"')[1].split("</div>")[0]
    assert browser.submit("/operator/", {**sent, "timezone": "Europe/London"}).status_code == 302
    with app.app_context():
        assert find_tenant(slug).timezone == "Europe/London"


def test_a_refused_new_tenant_says_every_problem_beside_its_field_at_once(browser, operator):
    browser.submit("/operator/login", {"email": operator, "password": PASSWORD})
    both = browser.submit("/operator/", {"slug": "Bad Slug!", "name": "East", "industry": "bank",
                                         "admin_email": "boss@east.test", "admin_password": "short"}).text
    assert "lowercase letters, digits or hyphens" in both and "between 10 and 256" in both  # both, in one send
    email = browser.submit("/operator/", {"slug": "east-ok", "name": "East", "industry": "bank",
                                          "admin_email": "a@b", "admin_password": "first-admin-pass"}).text
    beside = email.split('name="admin_email"')[1].split("</div>")[0]
    assert "is not a valid email address" in beside and "field &#39;email&#39;" not in email
    assert "east-ok" not in browser.get("/operator/").text  # nothing provisioned


def test_an_operator_switches_the_console_language_and_it_stays_through_signing_in_and_out(browser, operator):
    sign_in = browser.get("/operator/login", headers={"Accept-Language": "en"}).text
    assert 'action="/operator/locale"' in sign_in and 'lang="en"' in sign_in  # the switcher, as on tenant pages
    chosen = browser.submit("/operator/login", {"locale": "zh_CN", "next": "/operator/login?"},
                            action="/operator/locale")
    assert chosen.status_code == 302 and chosen.location.endswith("/operator/login")
    assert "平台运维人员登录" in browser.get("/operator/login", headers={"Accept-Language": "en"}).text
    browser.submit("/operator/login", {"email": operator, "password": PASSWORD})
    console = browser.get("/operator/", headers={"Accept-Language": "en"}).text
    assert "新建机构" in console and 'action="/operator/locale"' in console
    browser.submit("/operator/", {}, action="/operator/logout")
    assert "平台运维人员登录" in browser.get("/operator/login", headers={"Accept-Language": "en"}).text
    browser.submit("/operator/login", {"locale": "en", "next": "/operator/login"}, action="/operator/locale")
    assert "Platform operator sign in" in browser.get("/operator/login", headers={"Accept-Language": "zh-CN"}).text
    elsewhere = browser.submit("/operator/login", {"locale": "en", "next": "https://example.com/"},
                               action="/operator/locale")
    assert elsewhere.location.endswith("/operator/")  # never sent off the console


def test_operator_session_is_not_a_tenant_session(browser, operator, tenant_a):
    browser.submit("/operator/login", {"email": operator, "password": PASSWORD})
    assert browser.get(f"/t/{tenant_a.slug}/").status_code == 302
    assert browser.get(f"/t/{tenant_a.slug}/users/").status_code == 302


def test_operator_tenant_form_rejects_a_taken_slug_and_writes_nothing(browser, operator, tenant_a):
    browser.submit("/operator/login", {"email": operator, "password": PASSWORD})
    response = browser.submit("/operator/", {"slug": tenant_a.slug, "name": "Dup", "industry": "bank",
                                             "admin_email": "x@y.test", "admin_password": "first-admin-pass"})
    assert response.status_code == 400  # as every other refused field of the form
    beside = response.text.split('name="slug"')[1].split("</div>")[0]
    assert f"a tenant with slug &#39;{tenant_a.slug}&#39; already exists" in beside
    assert "<td>Dup</td>" not in browser.get("/operator/").text  # nothing provisioned


def test_pages_are_never_cached_or_framed(browser, tenant_a):
    browser.login(tenant_a, "rm1")
    page = browser.get(f"/t/{tenant_a.slug}/tokens/")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize("url", ["/t/%00/login", "/t/demo%00/", "/?x=%00"])
def test_nul_bytes_in_urls_are_a_clear_400_not_a_crash(client, url):
    assert client.get(url).status_code in (400, 404)


def test_nul_bytes_in_a_sign_in_form_are_refused(browser, tenant_a):
    response = browser.submit(f"/t/{tenant_a.slug}/login", {"email": "a\x00b@x.test", "password": "whatever-123"})
    assert response.status_code == 400


def test_a_line_break_in_next_cannot_break_the_redirect(browser, tenant_a):
    response = browser.submit(f"/t/{tenant_a.slug}/login?next=/t/{tenant_a.slug}/%0d%0aSet-Cookie:x=1",
                              {"email": tenant_a.email("admin"), "password": PASSWORD})
    assert response.status_code == 302 and response.location.endswith(f"/t/{tenant_a.slug}/")


def test_operator_sign_in_is_throttled_too(browser, operator):
    for _ in range(5):
        assert browser.submit("/operator/login", {"email": operator, "password": "wrong-password-9"}).status_code == 401
    assert browser.submit("/operator/login", {"email": operator, "password": PASSWORD}).status_code == 429


def test_deactivating_an_operator_ends_their_session(app, browser, operator):
    import sqlalchemy as sa

    from tierwise.platform.operators import Operator, set_operator_active

    browser.submit("/operator/login", {"email": operator, "password": PASSWORD})
    assert browser.get("/operator/").status_code == 200
    with app.app_context():
        set_operator_active(db.session.scalar(sa.select(Operator).where(Operator.email == operator)), False)
        db.session.commit()
    assert browser.get("/operator/").status_code == 302


def test_form_fields_never_say_autocomplete_none(app, tenant_a):
    person = Browser(app.test_client())
    person.login(tenant_a, "admin")
    for page in ("/users/new", "/branches/", "/fields/new"):
        html = person.get(f"/t/{tenant_a.slug}{page}").text
        assert 'autocomplete="None"' not in html, page


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back_to_the_same_page(client, tenant_a):
    from urllib.parse import parse_qs, urlparse

    for page, back in ((f"/t/{tenant_a.slug}/", f"/t/{tenant_a.slug}/"),
                       (f"/t/{tenant_a.slug}/lists/vip?sort=name", f"/t/{tenant_a.slug}/lists/vip?sort=name")):
        response = client.get(page)
        assert response.status_code == 302
        target = urlparse(response.location)
        assert target.path == f"/t/{tenant_a.slug}/login" and parse_qs(target.query)["next"] == [back]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_tenant_admin_sees_every_permission_by_its_label_never_its_code(browser, tenant_a, language):
    from tierwise.platform.policy import Permission

    browser.login(tenant_a, "admin")  # an admin holds every permission, so the page lists them all
    page = browser.get(f"/t/{tenant_a.slug}/", headers={"Accept-Language": language})
    listed = re.findall(r"<li>([^<]*)</li>", page.text.split('class="permissions"')[1].split("</ul>")[0])
    assert len(listed) == len(Permission)
    assert not {permission.value for permission in Permission} & set(listed)
    if language == "zh-CN":
        assert all(re.search(r"[\u4e00-\u9fff]", label) for label in listed), listed
