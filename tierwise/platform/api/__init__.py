"""The REST API, ``/api/v1``: JSON in and out, API-token or session authentication."""
from flask import Blueprint

api_blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

from tierwise.platform.api import (accounts, audit_events, auth, branches, customers, models,  # noqa: E402,F401 (routes)
                                   openapi, rules, schedules, tiers, tokens)
from tierwise.platform.api import lists  # noqa: E402,F401 (routes)
from tierwise.platform.api import ownership  # noqa: E402,F401 (routes)
from tierwise.platform.api import dashboards  # noqa: E402,F401 (routes)
from tierwise.platform.api import door  # noqa: E402,F401 (every request held to the OpenAPI document)
