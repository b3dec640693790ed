"""Creating a tenant, with its first admin, in one transaction (operator console, CLI, demo)."""
from __future__ import annotations

from tierwise.platform import audit, tenancy
from tierwise.platform.audit import Actor
from tierwise.platform.tenant import Tenant, create_tenant
from tierwise.platform.passwords import validate_password
from tierwise.platform.users import Role, User, create_user, normalise_email
from tierwise.tenants.field_templates import apply_industry_template
from tierwise.tenants.rules.templates import template_for
from tierwise.tenants.rules.versions import publish


def provision_tenant(slug: str, *, name: str, industry: str, admin_email: str | None = None,
                     admin_password: str | None = None, actor_label: str = "system",
                     settings: dict | None = None) -> tuple[Tenant, User | None]:
    """Create the tenant (and its first tenant admin); the caller commits.

    The tenant starts with its industry's fields and rule set (version 1), both
    its own to edit.

    The admin's email and password are checked before the tenant is written, and
    the caller's rollback on any error leaves nothing behind.
    """
    if admin_email is not None:
        normalise_email(admin_email)
        validate_password(admin_password or "", field="admin_password")
    tenant = create_tenant(slug, name=name, industry=industry, settings=settings)
    with tenancy.tenant_scope(tenant.id), audit.acting_as(Actor(label=actor_label)):
        fields = apply_industry_template(tenant.industry)
        publish(template_for(tenant.industry), author=actor_label, note="industry template")
        audit.record("tenant.created", target_type="tenant", target_id=tenant.id,
                     details={"slug": tenant.slug, "name": tenant.name, "industry": tenant.industry,
                              "template_fields": len(fields)})
        admin = None
        if admin_email is not None:
            admin = create_user(email=admin_email, role=Role.TENANT_ADMIN.value, password=admin_password or "")
    return tenant, admin
