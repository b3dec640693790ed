"""The application factory.  It only wires: settings, extensions, hooks, blueprints."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from tierwise.platform import clock, connections, errors, i18n, request_context
from tierwise.platform.config import ROOT, Settings
from tierwise.platform.db import db
from tierwise.platform.extensions import csrf, migrate
from tierwise.platform.rls import check_app_role
from tierwise.platform.web import labels, no_customers


def create_app(test_config: dict | None = None, *, settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        "tierwise",
        root_path=str(ROOT / "tierwise"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(settings.instance_path),
    )
    app.config.update(settings.flask_config())
    app.config.update(test_config or {})
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)

    _import_models()
    db.init_app(app)
    with app.app_context():
        connections.watch(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    i18n.init_app(app)
    request_context.init_app(app)
    errors.init_app(app)
    labels.init_app(app)
    no_customers.init_app(app)
    clock.init_app(app)
    _register_blueprints(app)
    if settings.is_production:
        with app.app_context():
            check_app_role(db.engine)  # web, worker and CLI alike: RLS must bind this role
    return app


def _import_models() -> None:
    """Every mapped class must be known before the first query and to Alembic."""
    from tierwise.platform import api_tokens, audit, branches, operators, tenant, users  # noqa: F401
    from tierwise.tenants import activity, customers, fields, interactions, ownership  # noqa: F401
    from tierwise.tenants.imports import mappings, runs  # noqa: F401
    from tierwise.tenants.rules import assignments, snapshot, versions  # noqa: F401
    from tierwise.tenants.lists import saved as _saved_lists  # noqa: F401
    from tierwise.jobs import schedules  # noqa: F401
    from tierwise.models import registry as _model_registry, runs as _model_runs, scores as _scores  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from tierwise.platform.api import api_blueprint
    from tierwise.platform.web import landing, operator, tenant_site

    app.register_blueprint(landing.bp)
    app.register_blueprint(operator.bp)
    app.register_blueprint(tenant_site.bp)
    csrf.exempt(api_blueprint)  # token requests carry no cookie; session requests are checked in api.auth
    app.register_blueprint(api_blueprint)
