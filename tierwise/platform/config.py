"""Typed settings read once from the environment.

``Settings.from_env`` is the only place that reads ``TIERWISE_*`` variables, so
every knob is listed (and documented in the README) here.  A production process
refuses to start without a real secret key; development keeps a generated one in
the instance folder so sessions survive a restart of ``make demo``.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from tierwise.errors import ConfigurationError

ENVIRONMENTS = ("development", "production", "test")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    env: str
    database_url: str
    migration_database_url: str
    redis_url: str | None
    secret_key: str
    app_db_role: str | None
    trusted_proxies: int
    instance_path: Path
    upload_path: Path

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, instance_path: Path | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        env = environ.get("TIERWISE_ENV", "development")
        if env not in ENVIRONMENTS:
            raise ConfigurationError(f"TIERWISE_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
        instance = Path(environ.get("TIERWISE_INSTANCE_PATH") or instance_path or ROOT / "instance").resolve()
        database_url = _normalise_db_url(environ.get("TIERWISE_DATABASE_URL") or f"sqlite:///{instance / 'tierwise.db'}")
        migration_url = _normalise_db_url(environ.get("TIERWISE_MIGRATION_DATABASE_URL") or database_url)
        return cls(
            env=env,
            database_url=database_url,
            migration_database_url=migration_url,
            redis_url=environ.get("TIERWISE_REDIS_URL") or None,
            secret_key=_secret_key(environ.get("TIERWISE_SECRET_KEY"), env, instance),
            app_db_role=environ.get("TIERWISE_DB_APP_ROLE", "tierwise_app") or None,
            trusted_proxies=_int(environ, "TIERWISE_TRUSTED_PROXIES", 0, minimum=0),
            instance_path=instance,
            upload_path=Path(environ.get("TIERWISE_UPLOAD_PATH") or instance / "uploads").resolve(),
        )

    def flask_config(self) -> dict:
        """The Flask/extension settings that follow from these settings."""
        secure_cookies = self.is_production
        # No pre-ping (a round trip per request): ``connections.watch`` replaces a connection the server
        # closed; recycling bounds the age of one whose peer vanished silently.
        engine_options = {"pool_recycle": 1800}
        if self.database_url.startswith("sqlite"):
            engine_options = {"connect_args": {"timeout": 30}}
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "SESSION_COOKIE_NAME": "tierwise_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": secure_cookies,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": secure_cookies,
            "PERMANENT_SESSION_LIFETIME": 8 * 3600,
            "MAX_CONTENT_LENGTH": 1024 * 1024 * 1024,  # file imports; JSON bodies are capped per route
            "WTF_CSRF_TIME_LIMIT": 8 * 3600,
            "BABEL_DEFAULT_LOCALE": "en",
            "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
            "TESTING": self.env == "test",
            "TIERWISE": self,
        }


def _normalise_db_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator used."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(value: str | None, env: str, instance: Path) -> str:
    if value:
        if env == "production" and len(value) < 32:
            raise ConfigurationError("TIERWISE_SECRET_KEY must be at least 32 characters in production")
        return value
    if env == "production":
        raise ConfigurationError("TIERWISE_SECRET_KEY is required when TIERWISE_ENV=production")
    # Development and test: generate once and keep it, so logins survive restarts.
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _int(environ: Mapping[str, str], name: str, default: int, *, minimum: int | None = None) -> int:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value
