"""Tenant isolation: one tenant never sees, changes or even confirms another tenant's data.

The walls, outermost first: the URL's slug (or the API token) picks the tenant;
the session refuses to load a user of another tenant; the ORM filters every query
to the current tenant and refuses cross-tenant writes; PostgreSQL row-level
security filters raw SQL too; composite foreign keys make cross-tenant references
impossible in the schema.  The route sweep below reads ``app.url_map``, so a new
route that takes an object id is covered (or fails loudly) without editing this file.
"""
from __future__ import annotations

import itertools
import uuid
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from tests.conftest import APP_ROLE, Browser, csrf_token_from
from tests.model_fixtures import record_model_run, record_model_version
from tierwise.jobs.schedules import Schedule, create_schedule
from tierwise.platform import rls, tenancy
from tierwise.platform.api_tokens import ApiToken
from tierwise.platform.branches import Branch
from tierwise.platform.db import TenantSession, db, tenant_scoped_tables
from tierwise.platform.tenant import Tenant
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.users import User
from tierwise.tenants.customers import Customer
from tierwise.tenants.fields import define_field
from tierwise.tenants.imports.runner import import_records
from tierwise.tenants.imports.runs import start_import_run
from tierwise.tenants.lists.filters import ListFilters
from tierwise.tenants.lists.saved import save_list
from tierwise.tenants.rules.retier import run_retier, start_retier
from tierwise.tenants.rules.versions import current_version

# URL arguments that name an object (each made by the objects_of fixture below)
OBJECT_KINDS = ("user_id", "token_id", "branch_id", "customer_id", "run_id", "field_id", "version_id", "retier_run_id",
                "schedule_id", "model_version_id", "model_run_id", "list_id")
NOT_TENANT_DATA = {"static", "operator.switch"}  # endpoints whose URL arguments name no tenant object (an
# operator switches whole tenants: only operators reach it, as the operator console tests check)
NOT_OBJECT_ARGUMENTS = {"kind", "name"}  # URL arguments that choose a category (an import's kind, a built-in list)
SWEPT_METHODS = {"GET", "POST", "DELETE", "PUT", "PATCH"}
UNSAFE = {"POST", "DELETE", "PUT", "PATCH"}
TENANT_TABLES = ("users", "audit_events", "branches", "api_tokens")
SCHEDULE_MINUTES = itertools.count()  # each schedule the sweep makes needs its own time (unique per action)


def object_routes(app) -> list[tuple[object, str]]:
    """(rule, method) for every route naming an object by id; fails on any argument the map does not know."""
    routes, unknown = [], []
    for rule in app.url_map.iter_rules():
        arguments = rule.arguments - {"tenant_slug"} - NOT_OBJECT_ARGUMENTS
        if not arguments or rule.endpoint in NOT_TENANT_DATA:
            continue
        if arguments - set(OBJECT_KINDS):
            unknown.append(f"{rule.rule} ({rule.endpoint}): unknown argument(s) {sorted(arguments - set(OBJECT_KINDS))}")
        elif not rule.rule.startswith(("/t/<tenant_slug>/", "/api/v1/")):
            unknown.append(f"{rule.rule} ({rule.endpoint}): neither tenant site nor API, the sweep cannot sign in")
        else:
            routes += [(rule, method) for method in sorted(rule.methods & SWEPT_METHODS)]
    assert not unknown, ("Routes the tenant-isolation sweep cannot cover. Extend OBJECT_KINDS and the objects_of "
                         "fixture in tests/test_tenant_isolation.py (or NOT_TENANT_DATA):\n  " + "\n  ".join(unknown))
    return routes


@pytest.fixture
def objects_of(app, issue_token, tmp_path_factory):
    """Factory: one object of each kind in OBJECT_KINDS belonging to a tenant."""

    def factory(world) -> dict[str, uuid.UUID]:
        issue_token(world, "rm1")
        external_id = f"c-{uuid.uuid4().hex[:8]}"
        with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
            import_records([{"external_id": external_id, "name": "Sweep 客户"}], kind="customers")
            db.session.commit()
            token_id = db.session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == world.users["rm1"].id)
                                          .order_by(ApiToken.created_at.desc())).first()
            customer_id = db.session.scalar(sa.select(Customer.id).where(Customer.external_id == external_id))
            upload = tmp_path_factory.mktemp("upload") / "c.csv"
            upload.write_text(f"external_id,name\n{external_id},Sweep\n")
            run_id = start_import_run(upload, kind="customers", source_name="c.csv", created_by="test").id
            field = define_field(name=f"sweep_{uuid.uuid4().hex[:8]}", field_type="text")
            db.session.commit()
            field_id = field.id
            version_id = current_version().id  # version 1, the industry template, unless a test published since
            retier_run_id = start_retier(started_by="test").id
            db.session.commit()
            run_retier(retier_run_id)
            minute = next(SCHEDULE_MINUTES)
            schedule_id = create_schedule(action="retier", cron=f"{minute % 60} {minute // 60 % 24} * * *",
                                          author="test").id
            db.session.commit()
            model_version_id, model_run_id = record_model_version().id, record_model_run().id
            rm = db.session.get(User, (world.tenant_id, world.users["rm1"].id))
            list_id = save_list(rm, name=f"sweep {uuid.uuid4().hex[:8]}", base="vip", filters=ListFilters(),
                                shared=True).id
            db.session.commit()
        return {"user_id": world.users["rm1"].id, "token_id": token_id, "branch_id": world.branches["north"].id,
                "customer_id": customer_id, "run_id": run_id, "field_id": field_id, "version_id": version_id,
                "retier_run_id": retier_run_id, "schedule_id": schedule_id, "model_version_id": model_version_id,
                "model_run_id": model_run_id, "list_id": list_id}

    return factory


@pytest.fixture
def owner_engine(database_urls):
    engine = sa.create_engine(database_urls["owner"])
    yield engine
    engine.dispose()


@pytest.fixture(params=["app-role", "owner-without-rls"])
def orm_session(request, app, owner_engine):
    """``db.session``, and an ORM session as the owner (a superuser RLS does not bind): the ORM filter must hold alone."""
    with app.app_context():
        if request.param == "app-role":
            yield db.session
        else:
            class OwnerSession(TenantSession):
                def get_bind(self, *args, **kwargs):
                    return owner_engine

            session = OwnerSession(db)
            yield session
            session.close()
        db.session.rollback()


def test_every_route_that_takes_an_object_id_is_covered_by_the_sweep(app, objects_of, tenant_b):
    routes = object_routes(app)
    assert {r.rule.split("/")[1] for r, _ in routes} == {"t", "api"}, "the sweep must reach web and API routes"
    assert set(objects_of(tenant_b)) == set(OBJECT_KINDS)


def test_admin_of_tenant_a_gets_404_for_every_tenant_b_object_in_every_route(
        app, browser, tenant_a, tenant_b, issue_token, objects_of):
    theirs, ours = objects_of(tenant_b), objects_of(tenant_a)
    bearer = {"Authorization": f"Bearer {issue_token(tenant_a, 'admin')}"}
    browser.login(tenant_a, "admin")
    csrf = csrf_token_from(browser.get(f"/t/{tenant_a.slug}/tokens/").text)
    adapter = app.url_map.bind("localhost")

    def call(rule, method, objects, how):
        values = {name: objects[name] for name in rule.arguments - {"tenant_slug"}}
        if "tenant_slug" in rule.arguments:
            values["tenant_slug"] = tenant_a.slug
        url = adapter.build(rule.endpoint, values, method=method)
        if how == "web":
            return url, browser.client.open(url, method=method, data={"csrf_token": csrf} if method in UNSAFE else None)
        headers = bearer if how == "token" else ({"X-CSRFToken": csrf} if method in UNSAFE else {})
        return url, browser.client.open(url, method=method, headers=headers)

    failures = []
    for rule, method in object_routes(app):
        for how in ("web",) if rule.rule.startswith("/t/") else ("token", "session"):
            url, response = call(rule, method, theirs, how)
            refused = response.status_code == 404
            if how != "web":  # the API says so in its error body too
                refused = refused and (response.get_json(silent=True) or {}).get("error", {}).get("code") == "not_found"
            if not refused:
                failures.append(f"{method} {url} [{how}] -> {response.status_code} {response.data[:200]!r}")
            for email in (tenant_b.email(who) for who in tenant_b.users):
                if email in response.text:
                    failures.append(f"{method} {url} [{how}] shows tenant B's {email}")
            # Control: the same request for A's own object is no 404, so the 404 above is isolation at work.
            # (An unsafe one may change A's objects, e.g. erase a customer: it gets fresh ones.)
            url, response = call(rule, method, objects_of(tenant_a) if method in UNSAFE else ours, how)
            if response.status_code == 404:
                failures.append(f"control: {method} {url} [{how}] with tenant A's own object -> 404")
    assert not failures, "Tenant A reached tenant B's objects:\n  " + "\n  ".join(failures)
    with app.app_context(), tenancy.tenant_scope(tenant_b.tenant_id):  # and nothing of B's changed
        assert db.session.get(ApiToken, (tenant_b.tenant_id, theirs["token_id"])).revoked_at is None
        assert db.session.get(User, (tenant_b.tenant_id, theirs["user_id"])).active
        assert db.session.get(Schedule, (tenant_b.tenant_id, theirs["schedule_id"])).enabled


def test_admin_of_tenant_a_never_sees_tenant_b_site_pages(browser, tenant_a, tenant_b):
    browser.login(tenant_a, "admin")
    for path in ("/", "/users/", f"/users/{tenant_b.users['rm1'].id}", "/tokens/", "/audit/"):
        response = browser.get(f"/t/{tenant_b.slug}{path}")
        assert response.status_code == 302, path
        assert urlsplit(response.location).path == f"/t/{tenant_b.slug}/login", path
        assert not any(tenant_b.email(who) in response.text for who in tenant_b.users), path
    assert browser.get(f"/t/{tenant_a.slug}/").status_code == 200  # still signed in at home


def test_an_unknown_or_deactivated_tenant_slug_is_not_found(app, client, make_tenant):
    assert client.get("/t/no-such-tenant/login").status_code == 404
    closed = make_tenant()
    with app.app_context():
        db.session.get(Tenant, closed.tenant_id).active = False
        db.session.commit()
    assert client.get(f"/t/{closed.slug}/login").status_code == 404


def test_row_level_security_alone_hides_other_tenants_rows_from_raw_sql(app, tenant_a, tenant_b, issue_token):
    issue_token(tenant_a)
    issue_token(tenant_b)
    with app.app_context():
        with tenancy.tenant_scope(tenant_a.tenant_id):
            rows = db.session.execute(sa.text("SELECT tenant_id, email FROM users")).all()
            assert {r.tenant_id for r in rows} == {tenant_a.tenant_id}
            assert {r.email for r in rows} == {tenant_a.email(who) for who in tenant_a.users}
            for table in TENANT_TABLES:
                seen = db.session.execute(sa.text(f"SELECT DISTINCT tenant_id FROM {table}")).scalars().all()
                assert seen == [tenant_a.tenant_id], table
                asked = sa.text(f"SELECT count(*) FROM {table} WHERE tenant_id = :b")
                assert db.session.execute(asked, {"b": tenant_b.tenant_id}).scalar() == 0, table
            renamed = db.session.execute(sa.text("UPDATE branches SET name = 'pwned' WHERE tenant_id = :b"),
                                         {"b": tenant_b.tenant_id})
            assert renamed.rowcount == 0
        db.session.rollback()
        for table in TENANT_TABLES:  # no tenant scope at all: nothing is visible
            assert db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
        db.session.rollback()


def test_row_level_security_refuses_raw_inserts_for_another_tenant(app, tenant_a, tenant_b):
    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
            db.session.execute(sa.text("INSERT INTO branches (tenant_id, id, code, name) VALUES (:b, :id, 'X', 'X')"),
                               {"b": tenant_b.tenant_id, "id": uuid.uuid4()})
        db.session.rollback()


def test_the_app_role_is_bound_by_row_level_security_on_every_tenant_table(app):
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT current_user")).scalar() == APP_ROLE
        assert rls.app_role_problems(connection) == []
        names = [table.name for table in tenant_scoped_tables()]
        flags = connection.execute(sa.text(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = ANY(:names)"
        ), {"names": names}).all()
        assert dict(flags) == {name: True for name in names}


def test_the_owner_sees_every_tenant_so_the_filtering_above_is_row_level_security(owner_engine, tenant_a, tenant_b):
    both = [tenant_a.tenant_id, tenant_b.tenant_id]
    with owner_engine.connect() as connection:
        for table in ("users", "branches", "audit_events"):
            seen = connection.execute(sa.text(f"SELECT DISTINCT tenant_id FROM {table} WHERE tenant_id = ANY(:ids)"),
                                      {"ids": both}).scalars().all()
            assert sorted(seen) == sorted(both), table


def test_the_orm_filters_to_the_current_tenant_and_fails_closed_without_one(tenant_a, tenant_b, orm_session):
    with tenancy.tenant_scope(tenant_a.tenant_id):
        users = orm_session.scalars(sa.select(User)).all()
        assert {u.email for u in users} == {tenant_a.email(who) for who in tenant_a.users}
        assert orm_session.get(User, (tenant_b.tenant_id, tenant_b.users["admin"].id)) is None
    with pytest.raises(tenancy.TenantContextMissing):
        orm_session.scalars(sa.select(User)).all()


def test_the_orm_refuses_to_write_another_tenants_row(tenant_a, tenant_b, orm_session):
    with tenancy.tenant_scope(tenant_a.tenant_id):
        orm_session.add(Branch(tenant_id=tenant_b.tenant_id, code="X", name="Planted"))
        with pytest.raises(tenancy.CrossTenantWrite):
            orm_session.flush()
        orm_session.rollback()


def test_a_user_cannot_point_at_another_tenants_branch(owner_engine, tenant_a, tenant_b):
    values = {"a": tenant_a.tenant_id, "user": tenant_a.users["rm1"].id, "branch": tenant_b.branches["north"].id}
    statements = [
        "UPDATE users SET branch_id = :branch WHERE tenant_id = :a AND id = :user",
        "INSERT INTO users (tenant_id, id, email, display_name, role, password_hash, active, branch_id, book_scope,"
        " session_nonce, created_at) VALUES (:a, gen_random_uuid(), 'x@x.test', '', 'analyst', 'x', true,"
        " :branch, 'own', 'n', now())",
    ]
    with owner_engine.connect() as connection:  # the owner bypasses RLS: only the schema stands in the way
        for statement in statements:
            with pytest.raises(sa.exc.IntegrityError, match="fk_users_tenant_id_branch_id_branches"):
                with connection.begin_nested():
                    connection.execute(sa.text(statement), values)
        connection.rollback()


def test_a_tenant_a_session_is_signed_out_on_tenant_b_pages(browser, tenant_a, tenant_b):
    browser.login(tenant_a, "admin")
    for path in ("/password", "/branches/"):
        response = browser.get(f"/t/{tenant_b.slug}{path}")
        assert response.status_code == 302
        assert urlsplit(response.location).path == f"/t/{tenant_b.slug}/login"
    token = csrf_token_from(browser.get(f"/t/{tenant_b.slug}/login").text)
    planted = browser.client.post(f"/t/{tenant_b.slug}/branches/", data={"csrf_token": token, "code": "X", "name": "X"})
    assert planted.status_code == 302 and urlsplit(planted.location).path == f"/t/{tenant_b.slug}/login"


def test_a_password_reset_by_an_admin_signs_the_user_out_of_existing_sessions(app, tenant_a):
    site, rm1 = f"/t/{tenant_a.slug}", tenant_a.users["rm1"].id
    person, admin = Browser(app.test_client()), Browser(app.test_client())
    person.login(tenant_a, "rm1")
    assert person.get(f"{site}/").status_code == 200
    admin.login(tenant_a, "admin")
    reset = admin.submit(f"{site}/users/{rm1}", {"new_password": "a-fresh-passphrase-42"},
                         action=f"{site}/users/{rm1}/password")
    assert reset.status_code == 302
    signed_out = person.get(f"{site}/")
    assert signed_out.status_code == 302 and urlsplit(signed_out.location).path == f"{site}/login"
    assert admin.get(f"{site}/").status_code == 200  # the admin's own session is untouched
    assert person.login(tenant_a, "rm1").status_code == 401  # the old password is gone
    assert person.login(tenant_a, "rm1", password="a-fresh-passphrase-42").status_code == 302


def test_counting_tenant_rows_outside_any_scope_fails_closed(tenant_a, orm_session):
    with pytest.raises(tenancy.TenantContextMissing):
        orm_session.scalar(sa.select(sa.func.count()).select_from(User))
