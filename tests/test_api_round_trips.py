"""What an API request costs the database, and that the cheaper path still checks everything on every request.

A list page through a token reads the tenant with the token, sets the transaction's
settings at most twice, and makes the same statements on every page (the field labels
and the rule set in force are read once per configuration version); a revoked
token, a deactivated user or tenant and a changed role are refused on the very next
request all the same; and a pooled connection the server closed is replaced before use.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.test_api import bearer
from tests.test_lists import grid  # noqa: F401  (the shared tenant of two RMs' books)
from tierwise.platform import tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.db import db, set_for_transaction
from tierwise.platform.tenant import Tenant, known_tenant_id, remember_tenant_id
from tierwise.platform.users import User, update_user


@contextmanager
def statements_of(app):
    """The SQL statements the app sends inside the block, as sent."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def page(client, token, cursor=None):
    query = {"limit": 1} | ({"cursor": cursor} if cursor else {})
    return client.get("/api/v1/lists/all/customers", query_string=query, headers=bearer(token))


@pytest.mark.parametrize("who", ["admin", "rm1"])
def test_every_page_of_an_api_list_takes_the_same_few_statements(app, grid, client, issue_token, who):  # noqa: F811
    token = issue_token(grid, who)
    first = page(client, token)  # records the token's first use: a write, once a minute at most
    assert first.status_code == 200
    # The process reads the field labels and the rule set in force once per configuration version
    warm = page(client, token, first.json["next_cursor"])
    counts, cursor = [], warm.json["next_cursor"]
    for _ in range(2):
        with statements_of(app) as sent:
            response = page(client, token, cursor)
        assert response.status_code == 200
        counts.append((len(sent), sum("set_config" in statement for statement in sent)))
        cursor = response.json["next_cursor"]
    # Settings with the tenant as the transaction begins; the token with its tenant, user and branch;
    # settings once the user is known (with the list's planner settings); the list.
    assert counts == [(4, 2), (4, 2)]


def test_a_revoked_token_is_refused_on_the_very_next_page(app, grid, client, issue_token):  # noqa: F811
    admin, token = issue_token(grid), issue_token(grid, "rm1")
    assert page(client, token).status_code == 200
    token_id = next(item["id"] for item in client.get("/api/v1/tokens", headers=bearer(admin)).json["items"]
                    if item["user_id"] == str(grid.users["rm1"].id))

    assert client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(admin)).status_code == 204

    assert page(client, token).status_code == 401


def test_a_changed_role_a_deactivated_user_and_a_deactivated_tenant_apply_on_the_very_next_request(
        app, grid, client, issue_token):  # noqa: F811
    admin, analyst = issue_token(grid), issue_token(grid, "analyst")
    assert client.get("/api/v1/users", headers=bearer(analyst)).status_code == 403

    change_user(app, grid, "analyst", role="tenant_admin")
    assert client.get("/api/v1/users", headers=bearer(analyst)).status_code == 200
    change_user(app, grid, "admin", role="analyst")
    assert client.get("/api/v1/users", headers=bearer(admin)).status_code == 403
    change_user(app, grid, "admin", active=False)
    assert page(client, admin).status_code == 401

    assert page(client, analyst).status_code == 200
    with app.app_context():
        db.session.get(Tenant, grid.tenant_id).active = False
        db.session.commit()
    assert page(client, analyst).status_code == 401


def change_user(app, world, who, **changes):
    with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
        user = db.session.get(User, (world.tenant_id, world.users[who].id))
        fields = {"role": user.role, "display_name": user.display_name, "branch_id": user.branch_id,
                  "book_scope": user.book_scope, "active": user.active}
        update_user(user, **(fields | changes))
        db.session.commit()


def test_a_slug_remembered_with_the_wrong_tenant_is_looked_up_again(app, grid, make_tenant, client,  # noqa: F811
                                                                    issue_token):
    other = make_tenant("bank")
    token = issue_token(grid)
    with app.test_request_context():
        remember_tenant_id(grid.slug, other.tenant_id)

    response = page(client, token)

    assert response.status_code == 200 and response.json["items"][0]["external_id"] == "C01"
    with app.test_request_context():
        assert known_tenant_id(grid.slug) == grid.tenant_id


def test_settings_follow_a_scope_changed_inside_a_transaction_even_past_a_rolled_back_savepoint(
        app, tenant_a, tenant_b):
    def settings() -> tuple[str, str]:
        return tuple(db.session.execute(sa.text(
            "SELECT current_setting('tierwise.tenant_id'), current_setting('tierwise.actor')")).one())

    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id), acting_as(Actor(label="first")):
        assert settings() == (str(tenant_a.tenant_id), "first")
        with tenancy.tenant_scope(tenant_b.tenant_id), acting_as(Actor(label="second")):
            assert settings() == (str(tenant_b.tenant_id), "second")
        savepoint = db.session.begin_nested()
        with tenancy.tenant_scope(tenant_b.tenant_id):
            assert settings()[0] == str(tenant_b.tenant_id)
            savepoint.rollback()  # PostgreSQL undoes what the savepoint set: tenant A's id again
            assert settings()[0] == str(tenant_b.tenant_id)
        assert settings() == (str(tenant_a.tenant_id), "first")
        db.session.rollback()


def test_settings_asked_for_a_transaction_go_out_with_its_next_statement_and_end_with_it(app, tenant_a):
    def collapse_limit() -> str:
        return db.session.execute(sa.text("SELECT current_setting('join_collapse_limit')")).scalar()

    with app.app_context(), tenancy.tenant_scope(tenant_a.tenant_id):
        default = collapse_limit()
        set_for_transaction({"join_collapse_limit": "1"})
        assert collapse_limit() == "1"
        db.session.commit()
        assert collapse_limit() == default
        db.session.rollback()


@pytest.fixture
def owner_engine(database_urls):
    engine = sa.create_engine(database_urls["owner"], poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def test_a_pooled_connection_the_server_closed_is_replaced_before_use(app, grid, client, issue_token,  # noqa: F811
                                                                       owner_engine):
    token = issue_token(grid)
    assert page(client, token).status_code == 200
    with app.app_context():
        engine = db.engine
    idle = [engine.connect() for _ in range(engine.pool.checkedin())]  # every connection the pool holds
    pids = [connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() for connection in idle]
    for connection in idle:
        connection.close()
    with owner_engine.connect() as owner:
        owner.execute(sa.text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
                      {"pids": pids})
        for _ in range(100):  # each backend exits, closing its socket, shortly after
            if not owner.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                                 {"pids": pids}).scalar():
                break
            time.sleep(0.02)

    assert page(client, token).status_code == 200
