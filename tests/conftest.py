"""Test fixtures: a throwaway PostgreSQL database per test process, real Redis, composing factories.

The app under test connects as ``tierwise_app``, a role that owns nothing, exactly
as production should; migrations run as the owner.  Every test makes its own
tenants (unique slugs), so tests own their data and need no teardown.
"""
from __future__ import annotations

import os
import re
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tierwise.platform import api_tokens, tenancy
from tierwise.platform.audit import Actor, acting_as
from tierwise.platform.branches import create_branch
from tierwise.platform.config import Settings
from tierwise.platform.db import db
from tierwise.platform.provisioning import provision_tenant
from tierwise.platform.users import Role, User, create_user

ADMIN_URL = os.environ.get("TIERWISE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _worker_redis_url(url: str) -> str:
    """The Redis database this test process owns: the configured one, or one below it per extra xdist worker.

    Tests flush their database before and after; two workers sharing one would flush
    each other's queued jobs.  ``gw0`` keeps the configured database, ``gw1`` the one
    below it, and so on (wrapping within Redis's 16).
    """
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    if not index:
        return url
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number - index) % 16}"))


REDIS_URL = _worker_redis_url(os.environ.get("TIERWISE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
APP_ROLE = "tierwise_app"
PASSWORD = "correct-horse-battery"


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """Create a fresh database (and the app role), migrate it, drop it at the end."""
    admin = sa.create_engine(_psycopg(ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"tierwise_test_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
        if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}).scalar():
            try:
                conn.execute(sa.text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError):  # another xdist worker made it first
                pass
    owner_url = make_url(_psycopg(ADMIN_URL)).set(database=name)
    app_url = owner_url.set(username=APP_ROLE)
    urls = {
        "owner": owner_url.render_as_string(hide_password=False),
        "app": app_url.render_as_string(hide_password=False),
        "name": name,
    }
    yield urls
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def make_settings(urls: dict, instance: Path, **overrides) -> Settings:
    environ = {
        "TIERWISE_ENV": "test",
        "TIERWISE_DATABASE_URL": urls["app"],
        "TIERWISE_MIGRATION_DATABASE_URL": urls["owner"],
        "TIERWISE_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "TIERWISE_DB_APP_ROLE": APP_ROLE,
        **overrides,
    }
    return Settings.from_env(environ, instance_path=instance)


def embedded_app(urls: dict, instance: Path, *, industry: str = "bank", slug: str = "lite", name: str = "Lite"):
    """The demo's set-up: an app on a fresh SQLite file, migrated, with one tenant and its admin.

    Returns (app, tenant id).
    """
    from flask_migrate import upgrade

    from tierwise.platform.app import create_app

    url = f"sqlite:///{instance}/demo.db"
    embedded = create_app(settings=make_settings(urls, instance, TIERWISE_DATABASE_URL=url,
                                                 TIERWISE_MIGRATION_DATABASE_URL=url, TIERWISE_ENV="development"))
    with embedded.app_context():
        upgrade()
        tenant, _admin = provision_tenant(slug, name=name, industry=industry, admin_email=f"admin@{slug}.test",
                                          admin_password=PASSWORD)
        db.session.commit()
        return embedded, tenant.id


@pytest.fixture(scope="session")
def app(database_urls, tmp_path_factory):
    from flask_migrate import upgrade

    from tierwise.platform.app import create_app

    settings = make_settings(database_urls, tmp_path_factory.mktemp("instance"))
    app = create_app(settings=settings)
    with app.app_context():
        upgrade()
    return app


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass(frozen=True)
class Ref:
    """A plain handle on a row made for a test (safe to use outside any session)."""

    id: uuid.UUID
    email: str = ""
    code: str = ""


@dataclass
class TenantWorld:
    """A tenant made for one test, with an admin, an analyst and two RMs in two branches."""

    tenant_id: int
    slug: str
    users: dict[str, Ref] = field(default_factory=dict)
    branches: dict[str, Ref] = field(default_factory=dict)

    def email(self, who: str) -> str:
        return self.users[who].email


def provision_world(app, industry: str = "bank", prefix: str = "t") -> TenantWorld:
    """A committed tenant with an admin, an analyst and two RMs in two branches (usable at any fixture scope)."""
    slug = f"{prefix}-{secrets.token_hex(4)}"
    with app.app_context():
        tenant, admin = provision_tenant(slug, name=f"Tenant {slug}", industry=industry,
                                         admin_email=f"admin@{slug}.test", admin_password=PASSWORD,
                                         actor_label="test")
        world = TenantWorld(tenant_id=tenant.id, slug=slug)
        with tenancy.tenant_scope(tenant.id), acting_as(Actor(label="test")):
            north = create_branch(code="N", name="North")
            south = create_branch(code="S", name="South")
            people = {
                "admin": admin,
                "analyst": create_user(email=f"analyst@{slug}.test", role=Role.ANALYST, password=PASSWORD),
                "rm1": create_user(email=f"rm1@{slug}.test", role=Role.RELATIONSHIP_MANAGER,
                                   password=PASSWORD, branch_id=north.id),
                "rm2": create_user(email=f"rm2@{slug}.test", role=Role.RELATIONSHIP_MANAGER,
                                   password=PASSWORD, branch_id=south.id),
            }
            world.branches = {"north": Ref(north.id, code="N"), "south": Ref(south.id, code="S")}
            world.users = {who: Ref(user.id, email=user.email) for who, user in people.items()}
        db.session.commit()
    return world


@pytest.fixture
def make_tenant(app):
    """Factory: ``make_tenant(industry="bank")`` -> TenantWorld, committed."""
    return lambda industry="bank": provision_world(app, industry)


@pytest.fixture
def tenant_a(make_tenant) -> TenantWorld:
    return make_tenant("bank")


@pytest.fixture
def tenant_b(make_tenant) -> TenantWorld:
    return make_tenant("power_utility")


@pytest.fixture
def issue_token(app):
    """Factory: an API token for a user of a TenantWorld."""

    def factory(world: TenantWorld, who: str = "admin") -> str:
        with app.app_context(), tenancy.tenant_scope(world.tenant_id), acting_as(Actor(label="test")):
            user = db.session.scalar(sa.select(User).where(User.email == world.email(who)))
            _token, plaintext = api_tokens.issue(user, name="test", tenant_slug=world.slug)
            db.session.commit()
        return plaintext

    return factory


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


class Browser:
    """Drives the web UI like a person: GET the form, then POST it with its CSRF token."""

    def __init__(self, client):
        self.client = client

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def submit(self, form_url: str, data: dict, *, action: str | None = None):
        page = self.client.get(form_url)
        return self.client.post(action or form_url, data={**data, "csrf_token": csrf_token_from(page.text)})

    def login(self, world: TenantWorld, who: str = "admin", password: str = PASSWORD):
        return self.submit(f"/t/{world.slug}/login", {"email": world.email(who), "password": password})


@pytest.fixture
def browser(client) -> Browser:
    return Browser(client)


@pytest.fixture
def operator(app) -> str:
    """A platform operator's email (password ``PASSWORD``)."""
    from tierwise.platform.operators import create_operator

    email = f"op-{secrets.token_hex(3)}@tierwise.test"
    with app.app_context():
        create_operator(email=email, password=PASSWORD)
        db.session.commit()
    return email


@pytest.fixture
def redis_url() -> str:
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
