"""Every setting the portal reads from the environment, in one place."""

from __future__ import annotations

import hmac
import os
import secrets
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", ROOT / "instance"))


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'xueji.sqlite3'}"
    # Heroku-style URLs name the scheme "postgres"; SQLAlchemy wants the driver spelled out.
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def jobs_url() -> str:
    """Where background jobs queue: an embedded SQLite file by default, Redis in production."""
    return os.environ.get("JOBS_URL") or f"sqlite:///{INSTANCE_DIR / 'jobs.sqlite3'}"


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


def _key_encryption_key(is_development: bool) -> str | None:
    """The secret that encrypts identity signing keys at rest (None: refused when first needed)."""
    key = os.environ.get("IDENTITY_KEY_ENCRYPTION_KEY")
    if key or not is_development:
        return key
    path = INSTANCE_DIR / "identity_key_encryption_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _derived_key(secret: str, purpose: str) -> str:
    """A key of its own for one purpose, derived from SECRET_KEY."""
    return hmac.new(secret.encode(), purpose.encode(), "sha256").hexdigest()


class Config:
    """Settings for a running portal; see `config_for_tests` for the test suite."""

    def __init__(self, overrides: dict | None = None) -> None:
        overrides = overrides or {}
        self.PORTAL_ENV = overrides.get("PORTAL_ENV") or os.environ.get("PORTAL_ENV", "production")
        is_development = self.PORTAL_ENV == "development"
        self.SECRET_KEY = overrides.get("SECRET_KEY") or _secret_key(is_development)
        self.SQLALCHEMY_DATABASE_URI = _database_url()
        # hide_parameters: errors and statement logs never carry a child's name or number.
        # No pre-ping (a round trip on every request): connections are recycled instead, and
        # a statement that finds its connection dropped is retried once (portal/database.py).
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            "hide_parameters": True,
            "pool_recycle": int(os.environ.get("DATABASE_POOL_RECYCLE", 1800)),
        }
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = not is_development
        self.BABEL_DEFAULT_LOCALE = "zh_Hans"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
        self.BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "portal" / "translations")
        self.WTF_CSRF_TIME_LIMIT = None  # tied to the session instead: phones keep tabs open for days
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_HEADERS_ENABLED = True
        # Sign-in attempts per client address (accounts have their own limit besides). Raise
        # it where many people share one address (a school office behind one NAT).
        self.SIGN_IN_LIMIT_PER_ADDRESS = os.environ.get("SIGN_IN_LIMIT_PER_ADDRESS", "10 per minute")
        # Evidence (docs/evidence.md): one file at most EVIDENCE_MAX_BYTES, images at most
        # EVIDENCE_MAX_PIXELS (decompression bombs); a form carries at most
        # EVIDENCE_MAX_FILES files, so a request is at most that many files plus the form.
        self.EVIDENCE_DIR = os.environ.get("EVIDENCE_DIR") or str(INSTANCE_DIR / "evidence")
        self.EVIDENCE_MAX_BYTES = int(os.environ.get("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024))
        self.EVIDENCE_MAX_PIXELS = int(os.environ.get("EVIDENCE_MAX_PIXELS", 50_000_000))
        self.EVIDENCE_MAX_FILES = int(os.environ.get("EVIDENCE_MAX_FILES", 3))
        # Only the sign-in benchmark (benchmarks/sign_in.py) switches limits off.
        self.RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") == "1"
        one_form = self.EVIDENCE_MAX_FILES * self.EVIDENCE_MAX_BYTES + 1024 * 1024
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", one_form))
        # argon2id parameters (RFC 9106 "second recommended" memory-constrained profile).
        self.ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", 3))
        self.ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", 64 * 1024))
        self.BINDING_CODE_LIFETIME_DAYS = int(os.environ.get("BINDING_CODE_LIFETIME_DAYS", 14))
        self.BINDING_CODE_MAX_ATTEMPTS = int(os.environ.get("BINDING_CODE_MAX_ATTEMPTS", 5))
        # The key of the binding codes' keyed hash; by default derived from SECRET_KEY, so
        # changing SECRET_KEY voids the codes not yet redeemed (the school issues new ones).
        self.BINDING_CODE_KEY = os.environ.get("BINDING_CODE_KEY") or _derived_key(
            self.SECRET_KEY, "binding-codes"
        )
        # Passkeys (WebAuthn). The relying party is the site's host name; unset, both are taken
        # from the request (right for `make run` on http://localhost:5000; set them in production).
        self.WEBAUTHN_RP_ID = os.environ.get("WEBAUTHN_RP_ID", "")
        self.WEBAUTHN_ORIGIN = os.environ.get("WEBAUTHN_ORIGIN", "")
        # County, city and province staff sign in with a passkey only; after a right password
        # and with no passkey yet, they may enrol their first one within this many seconds.
        self.STAFF_PASSKEY_REQUIRED = os.environ.get("STAFF_PASSKEY_REQUIRED", "1") == "1"
        self.PASSKEY_ENROLMENT_WINDOW = int(os.environ.get("PASSKEY_ENROLMENT_WINDOW", 15 * 60))
        # Pages behind require_recent_sign_in ask for a fresh sign-in after this many seconds.
        self.RECENT_SIGN_IN_MAX_AGE = int(os.environ.get("RECENT_SIGN_IN_MAX_AGE", 10 * 60))
        # How many reverse proxies (TLS terminators) stand in front: their X-Forwarded-For
        # gives rate limits and the audit trail the client's address, not the proxy's.
        self.PROXY_HOPS = int(os.environ.get("PROXY_HOPS", 0))
        # Background work (docs/jobs.md): the job queue, and how messages leave the portal.
        self.JOBS_URL = jobs_url()
        # Push the delivery job after a commit that queued messages (the minutely run is the net).
        self.JOBS_KICK_AFTER_COMMIT = True
        # The address people reach the portal at, for links in e-mails.
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://localhost:5000").rstrip("/")
        self.SMTP_HOST = os.environ.get("SMTP_HOST", "localhost")
        self.SMTP_PORT = int(os.environ.get("SMTP_PORT", 25))
        self.SMTP_USER = os.environ.get("SMTP_USER", "")
        self.SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
        self.SMTP_FROM = os.environ.get("SMTP_FROM", "xueji-portal@localhost")
        self.SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "") in ("1", "true", "yes")
        self.SMS_SENDER = os.environ.get("SMS_SENDER", "console")  # "console" or "null"
        self.OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", 8))
        # Trusted digital identity (docs/identity.md).
        self.IDENTITY_ISSUER = os.environ.get("IDENTITY_ISSUER", "https://xueji.example")
        self.IDENTITY_KEY_ENCRYPTION_KEY = overrides.get(
            "IDENTITY_KEY_ENCRYPTION_KEY"
        ) or _key_encryption_key(is_development)
        # A new key is published this long before it signs: every cached JWKS knows it by then.
        self.IDENTITY_KEY_PUBLISH_SECONDS = int(os.environ.get("IDENTITY_KEY_PUBLISH_SECONDS", 600))
        self.IDENTITY_STATUS_LIST_SIZE = int(os.environ.get("IDENTITY_STATUS_LIST_SIZE", 2**20))
        # The audit trail (docs/audit.md): how long entries are kept (the Cybersecurity Law asks
        # for at least six months; 0 keeps them forever), the key that signs retention
        # checkpoints (derived from SECRET_KEY if unset), and how old an entry must be before
        # the chain job links it (transactions still open then would be chained "late").
        self.AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", 3 * 365))
        self.AUDIT_CHECKPOINT_KEY = os.environ.get("AUDIT_CHECKPOINT_KEY", "")
        self.AUDIT_CHAIN_SETTLE_SECONDS = int(os.environ.get("AUDIT_CHAIN_SETTLE_SECONDS", 30))
        # The family's copy of their child's data: how long it is offered, the PDF's CJK font.
        self.FAMILY_COPY_HOURS = int(os.environ.get("FAMILY_COPY_HOURS", 72))
        self.FAMILY_COPY_FONT = os.environ.get(
            "FAMILY_COPY_FONT", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
        )


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
        # The suite's other tests sign staff in with a password; the passkey tests switch it on.
        "STAFF_PASSKEY_REQUIRED": False,
        "SMS_SENDER": "null",
        "JOBS_KICK_AFTER_COMMIT": False,  # tests run the delivery job themselves
        "IDENTITY_KEY_ENCRYPTION_KEY": "test-identity-key-encryption-key",
        # Evidence files of a test run go to a folder of its own, never the instance folder.
        "EVIDENCE_DIR": tempfile.mkdtemp(prefix="xueji-test-evidence-"),
    }
    settings.update(overrides)
    return settings
