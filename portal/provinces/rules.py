"""Reading a province's rules: the deadline and timeout policy for a kind, the calendar.

Kept apart from `service.py` (the writes) so that the approvals engine can read rules
while the writes can call back into the engine to recount deadlines.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from portal.extensions import db
from portal.provinces.models import (
    NATIONAL_PASSWORD_MAX_AGE_DAYS,
    NATIONAL_STEP_WORKING_DAYS,
    CorrectionSetting,
    OfficialCalendarDay,
    ProvinceAccountRule,
    ProvinceRule,
    PublishedCalendarYear,
    TimeoutPolicy,
)
from portal.workdays.calendar import OfficialDay, WorkingCalendar

EVERY_KIND = "*"


@dataclass(frozen=True)
class EffectiveRule:
    step_working_days: int
    timeout_policy: TimeoutPolicy


NATIONAL_RULE = EffectiveRule(NATIONAL_STEP_WORKING_DAYS, TimeoutPolicy.FLAG_OVERDUE)


def rule_for(province_id: int, kind: str, national: EffectiveRule = NATIONAL_RULE) -> EffectiveRule:
    """The province's rule for `kind`, else its rule for every kind, else the national one
    (`national`: a kind whose national deadline differs from 10 working days passes its own)."""
    rows = db.session.scalars(
        select(ProvinceRule).where(
            ProvinceRule.province_id == province_id, ProvinceRule.kind.in_([kind, EVERY_KIND])
        )
    ).all()
    by_kind = {row.kind: row for row in rows}
    row = by_kind.get(kind) or by_kind.get(EVERY_KIND)
    if row is None:
        return national
    return EffectiveRule(row.step_working_days, TimeoutPolicy(row.timeout_policy))


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


# How long a worker keeps a province's calendar for pages that only show it ("3 working
# days left"). Calendars change a few times a year; a change shows at once in the worker
# that made it and within this time in the others. Deadlines themselves are always
# counted on a calendar read afresh (the approvals engine calls `working_calendar`).
CALENDAR_SECONDS = 60
_shown_calendars: dict[int, tuple[float, WorkingCalendar]] = {}


def shown_calendar(province_id: int) -> WorkingCalendar:
    """The province's calendar for counting days left on a page: kept per worker a minute
    (its statements and the merge of its years are paid once, not on every page)."""
    now = time.monotonic()
    kept = _shown_calendars.get(province_id)
    if kept is not None and now - kept[0] < CALENDAR_SECONDS:
        return kept[1]
    calendar = working_calendar(province_id)
    _shown_calendars[province_id] = (now, calendar)
    return calendar


def forget_shown_calendars() -> None:
    """Drop the kept calendars (an administrator changed one; or a test's data is gone)."""
    _shown_calendars.clear()


def password_max_age_days(province_id: int) -> int:
    row = db.session.get(ProvinceAccountRule, province_id)
    return row.password_max_age_days if row else NATIONAL_PASSWORD_MAX_AGE_DAYS


def photo_is_key(province_id: int) -> bool:
    """Whether a new registry photo is a key field here (school, then county); nationally not."""
    row = db.session.get(CorrectionSetting, province_id)
    return bool(row and row.photo_is_key)
