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


NATIONAL_PASSWORD_MAX_AGE_DAYS = 90  # M-24 asks for periodic changes; the province sets the period


class ProvinceAccountRule(db.Model):
    """How long a staff password lasts in this province (M-24)."""

    __tablename__ = "province_account_rules"

    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    password_max_age_days: Mapped[int] = mapped_column(SmallInteger)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class TransferRouteOrder(enum.StrEnum):
    """The order of the sending side of a transfer route (M-15; AH-21 lets a province choose)."""

    SCHOOL_FIRST = "school_first"  # national: sending school, then sending county
    COUNTY_FIRST = "county_first"  # the sending county, then the sending school it checks with

    @property
    def label(self) -> str:
        return str(ROUTE_ORDER_LABELS[self])


ROUTE_ORDER_LABELS = {
    TransferRouteOrder.SCHOOL_FIRST: _l("Sending school, then sending county (national)"),
    TransferRouteOrder.COUNTY_FIRST: _l("Sending county, then sending school"),
}


class TransferWindowMode(enum.StrEnum):
    """Whether and how a province limits when transfers may be applied for (AH-25)."""

    NONE = "none"  # national: any time
    DATES = "dates"  # windows entered as dates
    TERM_WORKING_DAYS = "term_working_days"  # N working days after term start and before term end

    @property
    def label(self) -> str:
        return str(WINDOW_MODE_LABELS[self])


WINDOW_MODE_LABELS = {
    TransferWindowMode.NONE: _l("No transfer window (national)"),
    TransferWindowMode.DATES: _l("Windows entered as dates"),
    TransferWindowMode.TERM_WORKING_DAYS: _l("Working days after term start and before term end"),
}


class TransferSetting(db.Model):
    """A province's transfer settings; without a row, the national route and no window."""

    __tablename__ = "province_transfer_settings"

    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    route_order: Mapped[str] = mapped_column(String(20), default=TransferRouteOrder.SCHOOL_FIRST)
    provincial_step: Mapped[bool] = mapped_column(default=False)  # a province-level step on its side
    window_mode: Mapped[str] = mapped_column(String(20), default=TransferWindowMode.NONE)
    window_working_days: Mapped[int] = mapped_column(SmallInteger, default=20)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class TransferPeriod(db.Model):
    """A dated period of a province: a transfer window, or a term (for windows counted from terms)."""

    __tablename__ = "province_transfer_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "window" | "term"
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class CorrectionSetting(db.Model):
    """A province's correction settings; without a row, the photo is not a key field."""

    __tablename__ = "province_correction_settings"

    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    # AH-29: "and the photo where the province says so": then a new photo needs the county too.
    photo_is_key: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
