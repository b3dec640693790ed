"""Alembic environment for `tierwise db ...`.

Migrations connect with TIERWISE_MIGRATION_DATABASE_URL (the schema owner) when
it is set, because the application's own role owns nothing (see
tierwise/platform/rls.py).  After upgrading PostgreSQL, the application role is
granted exactly the access it needs.
"""
from __future__ import annotations

import logging
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from flask import current_app

from tierwise.platform.rls import grant_app_role

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

settings = current_app.config["TIERWISE"]
target_metadata = current_app.extensions["migrate"].db.metadata


def run_migrations_offline() -> None:
    context.configure(url=settings.migration_database_url, target_metadata=target_metadata,
                      literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = sa.create_engine(settings.migration_database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          **current_app.extensions["migrate"].configure_args)
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "postgresql" and settings.app_db_role:
                grant_app_role(connection, settings.app_db_role)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
