"""Tierwise: multi-tenant customer tiering for banks, utilities and distributors.

Packages, with imports flowing one way (platform -> domain):

- ``tierwise.platform``: app factory, config, tenancy, auth, web UI, REST API, CLI.
- ``tierwise.tenants``: a tenant's customer data, imports, tiering rules and lists.
- ``tierwise.models``: features, LightGBM training, model registry and scoring.
- ``tierwise.jobs``: background tasks (RQ or in-process) and their schedules.

Nothing here runs at import time; ``tierwise.platform.app.create_app`` wires it all.
"""
