"""The app must connect as a role row-level security binds; the owner is refused."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tierwise.errors import ConfigurationError
from tierwise.platform.db import db
from tierwise.platform.rls import check_app_role


def test_the_test_app_connects_as_a_role_rls_binds(app):
    with app.app_context():
        check_app_role(db.engine)  # raises if not


def test_connecting_as_the_schema_owner_is_refused(database_urls):
    owner = sa.create_engine(database_urls["owner"])
    try:
        with pytest.raises(ConfigurationError, match="superuser|owns tables"):
            check_app_role(owner)
    finally:
        owner.dispose()
