"""Every setting the portal reads from the environment, in one place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", ROOT / "instance"))


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'xueji.sqlite3'}"
    # Heroku-style URLs name the scheme "postgres"; SQLAlchemy wants the driver spelled out.
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _secret_key(is_development: bool) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if not is_development:
        raise RuntimeError("SECRET_KEY must be set outside local development.")
    # A stable key per checkout so that a restart of `make run` keeps people signed in.
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


class Config:
    """Settings for a running portal; see `config_for_tests` for the test suite."""

    def __init__(self, overrides: dict | None = None) -> None:
        overrides = overrides or {}
        self.PORTAL_ENV = overrides.get("PORTAL_ENV") or os.environ.get("PORTAL_ENV", "production")
        is_development = self.PORTAL_ENV == "development"
        self.SECRET_KEY = overrides.get("SECRET_KEY") or _secret_key(is_development)
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        # hide_parameters: errors and statement logs never carry a child's name or number.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = not is_development
        self.BABEL_DEFAULT_LOCALE = "zh_Hans"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
        self.BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "portal" / "translations")
        self.WTF_CSRF_TIME_LIMIT = None  # tied to the session instead: phones keep tabs open for days
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_HEADERS_ENABLED = True
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 5 * 1024 * 1024))
        # argon2id parameters (RFC 9106 "second recommended" memory-constrained profile).
        self.ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", 3))
        self.ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", 64 * 1024))
        self.BINDING_CODE_LIFETIME_DAYS = int(os.environ.get("BINDING_CODE_LIFETIME_DAYS", 14))
        self.BINDING_CODE_MAX_ATTEMPTS = int(os.environ.get("BINDING_CODE_MAX_ATTEMPTS", 5))
        # How many reverse proxies (TLS terminators) stand in front: their X-Forwarded-For
        # gives rate limits and the audit trail the client's address, not the proxy's.
        self.PROXY_HOPS = int(os.environ.get("PROXY_HOPS", 0))


def config_for_tests(database_url: str, **overrides) -> dict:
    """Settings the test suite layers over `Config`."""
    settings = {
        "TESTING": True,
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SESSION_COOKIE_SECURE": False,
        # Cheap hashes keep the suite fast; production parameters are tested separately.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
    }
    settings.update(overrides)
    return settings
