"""People who sign in: guardians (by mobile number) and staff (by user name, in one org unit)."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.orgs.models import OrgLevel, OrgUnit


class Role(enum.StrEnum):
    GUARDIAN = "guardian"
    SCHOOL_REGISTRAR = "school_registrar"
    COUNTY_REGISTRAR = "county_registrar"
    CITY_OFFICER = "city_officer"
    PROVINCE_ADMIN = "province_admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    @property
    def is_staff(self) -> bool:
        return self is not Role.GUARDIAN

    @property
    def needs_passkey(self) -> bool:
        """Staff above the school sign in with a passkey only (a password alone is refused)."""
        return self in PASSKEY_ROLES


ROLE_LABELS = {
    Role.GUARDIAN: _l("Guardian"),
    Role.SCHOOL_REGISTRAR: _l("School registrar"),
    Role.COUNTY_REGISTRAR: _l("County registrar"),
    Role.CITY_OFFICER: _l("City officer"),
    Role.PROVINCE_ADMIN: _l("Province administrator"),
}

PASSKEY_ROLES = frozenset({Role.COUNTY_REGISTRAR, Role.CITY_OFFICER, Role.PROVINCE_ADMIN})

# The org level a staff role belongs at (AH-28: each account in exactly one unit).
ROLE_LEVEL = {
    Role.SCHOOL_REGISTRAR: OrgLevel.SCHOOL,
    Role.COUNTY_REGISTRAR: OrgLevel.COUNTY,
    Role.CITY_OFFICER: OrgLevel.CITY,
    Role.PROVINCE_ADMIN: OrgLevel.PROVINCE,
}


class AccountIdentity(UserMixin):
    """What a signed-in account is to every request: its role and its session's id.

    Shared by the ORM row (`User`) and the session check's light view of it
    (portal/accounts/sessions.py `SignedInUser`), so both answer alike.
    """

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_staff(self) -> bool:
        return self.role_enum.is_staff

    @property
    def is_active(self) -> bool:  # flask-login: sealed accounts cannot sign in
        return self.is_active_account

    def get_id(self) -> str:  # flask-login: what the session cookie names
        # id:token:session key. The key names this sign-in's row in user_sessions (set by
        # portal/accounts/sessions.py before login_user); the token ends every session at once.
        return f"{self.id}:{self.session_token}:{getattr(self, 'session_key', '')}"


class User(AccountIdentity, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role = 'guardian' AND mobile IS NOT NULL AND org_unit_id IS NULL)"
            " OR (role <> 'guardian' AND username IS NOT NULL AND org_unit_id IS NOT NULL)",
            name="login_matches_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(11), unique=True)
    username: Mapped[str | None] = mapped_column(String(40), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))  # staff: where notifications are mailed
    # None: a guardian who signed up with a passkey alone (a first password comes by SMS).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # Part of the id kept in the session cookie; changing it ends every session of the account
    # (a cookie copied before sign-out stops working).
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Staff passwords expire after the province's period (M-24); unset: since created_at.
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Last request made while signed in (kept to the day): "unused" in M-24 means not used,
    # not merely not signed in again.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The WebAuthn user handle: random, never the id or a number (a passkey shows it to sites).
    webauthn_handle: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)

    org_unit: Mapped[OrgUnit | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    @property
    def display_login(self) -> str:
        return self.username or self.mobile or ""

    def end_all_sessions(self) -> None:
        self.session_token = secrets.token_hex(16)


class Passkey(db.Model):
    """A WebAuthn credential (a discoverable one: it signs in without a user name)."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The authenticator's signature counter (unsigned 32-bit): a count that fails to grow
    # betrays a cloned authenticator.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Passkey {self.id} of user {self.user_id}>"


class WebAuthnChallenge(db.Model):
    """A ceremony's challenge, kept on the server and deleted when used (single use)."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    purpose: Mapped[str] = mapped_column(String(20))  # "register" or "sign_in"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class UserSession(db.Model):
    """One signed-in session (a browser on a device): listed to its owner, who may end it."""

    __tablename__ = "user_sessions"

    # The primary key is what the cookie carries: the user loader's one indexed lookup.
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device: Mapped[str] = mapped_column(String(100), default="")
    method: Mapped[str] = mapped_column(String(30), default="password")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class OneTimeCode(db.Model):
    """A six-digit code sent by SMS to prove a mobile number (first sign-in, password reset)."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(String(11), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "register" or "reset"
    code_hash: Mapped[str] = mapped_column(String(64))  # keyed hash, like binding codes
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_attempts: Mapped[int] = mapped_column(default=0)
