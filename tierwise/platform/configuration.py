"""What a process keeps of a tenant's configuration, keyed by the version its tenant row carries.

Every list page and export names fields and tiers by their labels: the field
registry and the rule set in force, read afresh two statements a page (about a
quarter of an API list page's time) for an answer that changes a few times a
month.  ``tenants.config_version`` is renewed by database triggers whenever a
tenant's ``field_definitions`` or ``rule_set_versions`` change, whoever changes
them (migration 0020), and every request already reads its tenant's row.  A
reader decorated with ``per_configuration`` is run once per tenant and version in
the process; a process that has not seen the new version yet cannot use the old
answer, because its requests read the new row.

The answer is read again whenever the version is not known for sure without a
query: no tenant row loaded in this transaction (jobs, the CLI), its attributes
expired by a commit, or the transaction itself has written or holds changes not
yet flushed (a publish renews the version in the database, not in the row
already loaded).  Writes sent on ``db.session.connection()`` directly are not
seen: none touches fields or rule sets, and one that did would have to flush or
go through the session.
"""
from __future__ import annotations

import functools
import uuid
from typing import Callable, TypeVar

import sqlalchemy as sa

from tierwise.platform import tenancy
from tierwise.platform.db import db, wrote_in_transaction
from tierwise.platform.tenant import Tenant

T = TypeVar("T")


def configuration_version() -> uuid.UUID | None:
    """The current tenant's configuration version as this transaction loaded it, without a query;
    None when that is not known for sure."""
    tenant_id = tenancy.current_tenant_id()
    session = db.session()
    if tenant_id is None or wrote_in_transaction() or session.new or session.dirty or session.deleted:
        return None  # a change not flushed yet would be flushed by the read, and kept under the old version
    tenant = session.identity_map.get(sa.inspect(Tenant).identity_key_from_primary_key((tenant_id,)))
    if tenant is None or "config_version" in sa.inspect(tenant).unloaded:
        return None
    return tenant.config_version


def per_configuration(read: Callable[[], T]) -> Callable[[], T]:
    """``read()`` of the current tenant, kept in the process per tenant and configuration version.

    Only for what depends on nothing but the tenant's fields and rule sets; the answer is shared
    by every request of the process, so it must not be changed by its callers.
    """
    @functools.lru_cache(maxsize=1024)
    def kept(tenant_id: int, version: uuid.UUID) -> T:
        return read()

    @functools.wraps(read)
    def current() -> T:
        version = configuration_version()
        return read() if version is None else kept(tenancy.current_tenant_id(), version)

    return current
