"""A throwaway PostgreSQL database for one benchmark run, migrated, with the app connected as ``tierwise_app``.

Each benchmark creates its own database (so runs never share state), builds the
application the way production does (the non-owner role ``tierwise_app``,
row-level security on, migrations run as the owner) and drops the database at
the end, whatever happened.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tierwise.platform.config import Settings  # noqa: E402

ADMIN_URL = os.environ.get("TIERWISE_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass
class BenchDatabase:
    name: str
    app: object  # the Flask app, connected as tierwise_app
    owner: sa.Engine  # the database owner (a superuser here): setup and baselines only
    app_url: sa.URL  # tierwise_app's URL, for baselines that want row-level security without the ORM


@contextmanager
def bench_database(prefix: str = "tierwise_bench") -> Iterator[BenchDatabase]:
    from flask_migrate import upgrade

    from tierwise.platform.app import create_app

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{secrets.token_hex(3)}"
    instance = Path(tempfile.mkdtemp(prefix=f"{prefix}_instance_"))
    owner = None
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
            if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = 'tierwise_app'")).scalar():
                conn.execute(sa.text("CREATE ROLE tierwise_app LOGIN NOSUPERUSER NOBYPASSRLS"))
        owner_url = sa.make_url(ADMIN_URL).set(database=name)
        settings = Settings.from_env({
            "TIERWISE_ENV": "test", "TIERWISE_SECRET_KEY": "b" * 40,
            "TIERWISE_DATABASE_URL": owner_url.set(username="tierwise_app").render_as_string(False),
            "TIERWISE_MIGRATION_DATABASE_URL": owner_url.render_as_string(False),
        }, instance_path=instance)
        app = create_app(settings=settings)
        with app.app_context():
            upgrade()
        owner = sa.create_engine(owner_url)
        yield BenchDatabase(name, app, owner, owner_url.set(username="tierwise_app"))
    finally:
        if owner is not None:
            owner.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
        shutil.rmtree(instance, ignore_errors=True)


def checkpoint(owner: sa.Engine, *, vacuum: bool = False) -> None:
    """Start each measured phase with the previous phase's WAL flushed (same footing for both).

    ``vacuum``: first what autovacuum does in the hours between two nightly runs (dead rows
    cleared, statistics of what the last phase wrote): otherwise it runs during the next
    measured phase, or the planner works from row counts taken before it.
    """
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if vacuum:
            conn.execute(sa.text("VACUUM (ANALYZE)"))
        conn.execute(sa.text("CHECKPOINT"))
