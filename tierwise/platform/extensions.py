"""Flask extensions, created once and bound to an app in ``create_app``."""
from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
