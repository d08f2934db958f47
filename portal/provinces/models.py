"""The rules the national text leaves to each province, stored as settings (M-12, M-29)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, DateTime, ForeignKey, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db

NATIONAL_STEP_WORKING_DAYS = 10  # M-15: each party handles a transfer within 10 working days


class TimeoutPolicy(enum.StrEnum):
    FLAG_OVERDUE = "flag_overdue"  # national default: mark overdue, alert the next level up
    AUTO_APPROVE = "auto_approve"  # AH-24: 超出时限, 系统默认审批同意

    @property
    def label(self) -> str:
        return str(TIMEOUT_POLICY_LABELS[self])


TIMEOUT_POLICY_LABELS = {
    TimeoutPolicy.FLAG_OVERDUE: _l("Flag as overdue and alert the next level up"),
    TimeoutPolicy.AUTO_APPROVE: _l("Approve automatically"),
}


class ProvinceRule(db.Model):
    """Deadline and timeout policy for one request kind in one province ('*' = every kind)."""

    __tablename__ = "province_rules"

    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    step_working_days: Mapped[int] = mapped_column(SmallInteger)
    timeout_policy: Mapped[str] = mapped_column(String(20))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class OfficialCalendarDay(db.Model):
    """A date from the State Council's schedule, entered by a province administrator."""

    __tablename__ = "official_calendar_days"

    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_working_day: Mapped[bool]
    note: Mapped[str] = mapped_column(String(100), default="")


class PublishedCalendarYear(db.Model):
    """A year whose official schedule the administrator has entered in full."""

    __tablename__ = "published_calendar_years"

    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
