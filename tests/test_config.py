"""Configuration: production refuses unsafe settings; development just works."""
from __future__ import annotations

import pytest

from tierwise.errors import ConfigurationError
from tierwise.platform.config import Settings


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="TIERWISE_SECRET_KEY is required"):
        Settings.from_env({"TIERWISE_ENV": "production"}, instance_path=tmp_path)


def test_production_refuses_a_short_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        Settings.from_env({"TIERWISE_ENV": "production", "TIERWISE_SECRET_KEY": "short"}, instance_path=tmp_path)


def test_production_cookies_are_secure(tmp_path):
    settings = Settings.from_env({"TIERWISE_ENV": "production", "TIERWISE_SECRET_KEY": "k" * 40}, instance_path=tmp_path)
    config = settings.flask_config()
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_generates_a_secret_key_once_and_keeps_it(tmp_path):
    first = Settings.from_env({}, instance_path=tmp_path)
    second = Settings.from_env({}, instance_path=tmp_path)
    assert len(first.secret_key) >= 32 and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_defaults_are_sqlite_in_the_instance_folder_and_in_process_jobs(tmp_path):
    settings = Settings.from_env({}, instance_path=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path}/tierwise.db"
    assert settings.redis_url is None


def test_postgres_urls_use_psycopg3(tmp_path):
    settings = Settings.from_env({"TIERWISE_DATABASE_URL": "postgres://u@h/db"}, instance_path=tmp_path)
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.migration_database_url == settings.database_url


@pytest.mark.parametrize("environ, message", [
    ({"TIERWISE_ENV": "staging"}, "TIERWISE_ENV must be one of"),
    ({"TIERWISE_TRUSTED_PROXIES": "two"}, "TIERWISE_TRUSTED_PROXIES must be a whole number"),
])
def test_bad_settings_name_the_variable(tmp_path, environ, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(environ, instance_path=tmp_path)
