"""Reading and changing a province's rule settings and official holiday calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.provinces.models import (
    NATIONAL_STEP_WORKING_DAYS,
    OfficialCalendarDay,
    ProvinceRule,
    PublishedCalendarYear,
    TimeoutPolicy,
)
from portal.workdays.calendar import OfficialDay, WorkingCalendar

EVERY_KIND = "*"
MAX_STEP_WORKING_DAYS = 60


@dataclass(frozen=True)
class EffectiveRule:
    step_working_days: int
    timeout_policy: TimeoutPolicy


NATIONAL_RULE = EffectiveRule(NATIONAL_STEP_WORKING_DAYS, TimeoutPolicy.FLAG_OVERDUE)


def rule_for(province_id: int, kind: str) -> EffectiveRule:
    """The province's rule for `kind`, else its rule for every kind, else the national one."""
    rows = db.session.scalars(
        select(ProvinceRule).where(
            ProvinceRule.province_id == province_id, ProvinceRule.kind.in_([kind, EVERY_KIND])
        )
    ).all()
    by_kind = {row.kind: row for row in rows}
    row = by_kind.get(kind) or by_kind.get(EVERY_KIND)
    if row is None:
        return NATIONAL_RULE
    return EffectiveRule(row.step_working_days, TimeoutPolicy(row.timeout_policy))


def set_rule(province, kind: str, step_working_days: int, policy: TimeoutPolicy, actor):
    """Store the province's deadline and timeout policy for `kind`."""
    if not 1 <= step_working_days <= MAX_STEP_WORKING_DAYS:
        raise ValidationFailed(
            "province.bad_working_days",
            _l("Working days per step must be between 1 and %(max)s."),
            max=MAX_STEP_WORKING_DAYS,
        )
    row = db.session.get(ProvinceRule, (province.id, kind)) or ProvinceRule(
        province_id=province.id, kind=kind
    )
    before = {"days": row.step_working_days, "policy": row.timeout_policy}
    row.step_working_days = step_working_days
    row.timeout_policy = policy
    row.updated_by_id = actor.id
    db.session.add(row)
    record_event(
        AuditTag.PROVINCE_SETTINGS_CHANGED,
        actor=actor,
        kind=kind,
        before=before,
        after={"days": step_working_days, "policy": str(policy)},
    )
    return row


def working_calendar(province_id: int) -> WorkingCalendar:
    """The holiday calendar as this province's administrator has completed it."""
    days = db.session.execute(
        select(OfficialCalendarDay.day, OfficialCalendarDay.is_working_day).where(
            OfficialCalendarDay.province_id == province_id
        )
    ).all()
    years = db.session.scalars(
        select(PublishedCalendarYear.year).where(PublishedCalendarYear.province_id == province_id)
    ).all()
    return WorkingCalendar([OfficialDay(d, w) for d, w in days], years)


def set_official_day(province, day: date, is_working_day: bool, note: str, actor):
    """Enter one date of the State Council's schedule (a holiday or a make-up working day)."""
    row = db.session.get(OfficialCalendarDay, (province.id, day)) or OfficialCalendarDay(
        province_id=province.id, day=day
    )
    row.is_working_day = is_working_day
    row.note = note[:100]
    db.session.add(row)
    record_event(AuditTag.CALENDAR_DAY_SET, actor=actor, day=day.isoformat(), is_working_day=is_working_day)
    return row


def publish_year(province, year: int, actor) -> PublishedCalendarYear:
    """Declare `year`'s official schedule complete, so deadlines may run into it."""
    this_year = clock.today().year
    if not this_year - 1 <= year <= this_year + 2:
        raise ValidationFailed(
            "province.bad_year",
            _l("Only a year from %(first)s to %(last)s can be published."),
            first=this_year - 1,
            last=this_year + 2,
        )
    row = db.session.get(PublishedCalendarYear, (province.id, year))
    if row is None:
        row = PublishedCalendarYear(province_id=province.id, year=year, published_by_id=actor.id)
        db.session.add(row)
        db.session.flush()
        record_event(AuditTag.CALENDAR_YEAR_PUBLISHED, actor=actor, year=year)
    return row
