"""People who sign in: guardians (by mobile number) and staff (by user name, in one org unit)."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, func
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


ROLE_LABELS = {
    Role.GUARDIAN: _l("Guardian"),
    Role.SCHOOL_REGISTRAR: _l("School registrar"),
    Role.COUNTY_REGISTRAR: _l("County registrar"),
    Role.CITY_OFFICER: _l("City officer"),
    Role.PROVINCE_ADMIN: _l("Province administrator"),
}

# The org level a staff role belongs at (AH-28: each account in exactly one unit).
ROLE_LEVEL = {
    Role.SCHOOL_REGISTRAR: OrgLevel.SCHOOL,
    Role.COUNTY_REGISTRAR: OrgLevel.COUNTY,
    Role.CITY_OFFICER: OrgLevel.CITY,
    Role.PROVINCE_ADMIN: OrgLevel.PROVINCE,
}


class User(UserMixin, db.Model):
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
    password_hash: Mapped[str] = mapped_column(String(200))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # Part of the id kept in the session cookie; changing it ends every session of the account
    # (a cookie copied before sign-out stops working).
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Last request made while signed in (kept to the day): "unused" in M-24 means not used,
    # not merely not signed in again.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    org_unit: Mapped[OrgUnit | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

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
        return f"{self.id}:{self.session_token}"

    def end_all_sessions(self) -> None:
        self.session_token = secrets.token_hex(16)
