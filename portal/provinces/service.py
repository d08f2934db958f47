"""Changing a province's rule settings and official holiday calendar (reads: `rules.py`)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from portal import clock
from portal.approvals.engine import recompute_deadlines
from portal.approvals.kinds import is_known_kind
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.provinces.models import OfficialCalendarDay, ProvinceRule, PublishedCalendarYear, TimeoutPolicy
from portal.provinces.rules import EVERY_KIND

MAX_STEP_WORKING_DAYS = 60


def set_rule(province, kind: str, step_working_days: int, policy: TimeoutPolicy, actor):
    """Store the province's deadline and timeout policy for `kind` ('*': every kind)."""
    if kind != EVERY_KIND and not is_known_kind(kind):
        raise ValidationFailed("province.unknown_kind", _l("Unknown kind of request."))
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


def set_official_day(province, day: date, is_working_day: bool, note: str, actor) -> int:
    """Enter one date of the State Council's schedule (a holiday or a make-up working day).

    Returns how many pending deadlines in the province moved because of it.
    """
    row = db.session.get(OfficialCalendarDay, (province.id, day)) or OfficialCalendarDay(
        province_id=province.id, day=day
    )
    row.is_working_day = is_working_day
    row.note = note[:100]
    db.session.add(row)
    record_event(AuditTag.CALENDAR_DAY_SET, actor=actor, day=day.isoformat(), is_working_day=is_working_day)
    db.session.flush()
    return recompute_deadlines(province.id)


def publish_year(province, year: int, actor) -> int:
    """Declare `year`'s official schedule complete, so deadlines may run into it.

    Returns how many pending deadlines became known or moved.
    """
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
    return recompute_deadlines(province.id)
