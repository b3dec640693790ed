"""Why a reader sees no customer at all, so that an empty page can say what to do about it.

A new tenant's pages (customers, lists, dashboard, models) stay empty until someone
imports customers, and an RM's until customers are given to them.  Every such page
says why through one macro, ``templates/_no_customers.html``, with what
``customers_missing`` answers here.  A list asks only when it came out empty; the
models page, which lists no customers, asks once (a query of one row).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_login import current_user

from tierwise.platform.policy import Permission, allows, visible_customers
from tierwise.platform.users import User
from tierwise.tenants.customer_directory import any_customer

IMPORT_FIRST = "import_first"  # none imported yet, and the reader may import them
AWAIT_IMPORT = "await_import"  # none imported yet: an administrator imports them (an RM cannot)
EMPTY_BOOK = "empty_book"  # the tenant has customers, none of them in the reader's book or branch


def customers_missing(user: User) -> str | None:
    """Why ``user`` sees no customer, as what they can do about it (the constants above); None if they see some."""
    if any_customer(visible_customers(user)):
        return None
    if not allows(user, Permission.VIEW_ALL_CUSTOMERS) and any_customer(sa.true()):
        return EMPTY_BOOK
    return IMPORT_FIRST if allows(user, Permission.IMPORT_DATA) else AWAIT_IMPORT


def init_app(app: Flask) -> None:
    app.jinja_env.globals["customers_missing"] = lambda: customers_missing(current_user)
