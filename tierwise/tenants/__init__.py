"""A tenant's own business data: customers, activity, interactions, tiering rules and lists.

Every table here is tenant-owned (``TenantScoped``); code in this package never
filters by tenant by hand, the session does it (see ``tierwise.platform.tenancy``).
"""
