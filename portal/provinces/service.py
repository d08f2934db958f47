"""Changing a province's rule settings and official holiday calendar (reads: `rules.py`)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from portal import clock
from portal.approvals.engine import recompute_deadlines
from portal.approvals.kinds import is_known_kind
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.provinces.models import (
    CorrectionSetting,
    OfficialCalendarDay,
    ProvinceAccountRule,
    ProvinceRule,
    PublishedCalendarYear,
    TimeoutPolicy,
    TransferPeriod,
    TransferRouteOrder,
    TransferSetting,
    TransferWindowMode,
)
from portal.provinces.rules import EVERY_KIND, forget_shown_calendars

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


_BAD_DAY = _l("Only dates in the years %(first)s to %(last)s can be entered.")
_BAD_YEAR = _l("Only a year from %(first)s to %(last)s can be published.")


def _check_calendar_year(year: int, message=_BAD_DAY) -> None:
    """Only last year to two years ahead: the State Council publishes one year at a time."""
    this_year = clock.today().year
    if not this_year - 1 <= year <= this_year + 2:
        raise ValidationFailed(
            "province.bad_year",
            message,
            first=this_year - 1,
            last=this_year + 2,
        )


MIN_PASSWORD_DAYS, MAX_PASSWORD_DAYS = 30, 365


def set_password_max_age(province, days: int, actor) -> ProvinceAccountRule:
    """How many days a staff password lasts in the province before it must be changed (M-24)."""
    if not MIN_PASSWORD_DAYS <= days <= MAX_PASSWORD_DAYS:
        raise ValidationFailed(
            "province.bad_password_days",
            _l("A password must last between %(min)s and %(max)s days."),
            min=MIN_PASSWORD_DAYS,
            max=MAX_PASSWORD_DAYS,
        )
    row = db.session.get(ProvinceAccountRule, province.id) or ProvinceAccountRule(province_id=province.id)
    before = row.password_max_age_days
    row.password_max_age_days = days
    row.updated_by_id = actor.id
    db.session.add(row)
    record_event(
        AuditTag.PROVINCE_SETTINGS_CHANGED,
        actor=actor,
        kind="password_max_age_days",
        before=before,
        after=days,
    )
    return row


def set_official_day(province, day: date, is_working_day: bool, note: str, actor) -> int:
    """Enter or correct one date of the State Council's schedule (a holiday or a make-up working day).

    Returns how many pending deadlines in the province moved because of it.
    """
    _check_calendar_year(day.year)
    row = db.session.get(OfficialCalendarDay, (province.id, day)) or OfficialCalendarDay(
        province_id=province.id, day=day
    )
    row.is_working_day = is_working_day
    row.note = note[:100]
    db.session.add(row)
    record_event(AuditTag.CALENDAR_DAY_SET, actor=actor, day=day.isoformat(), is_working_day=is_working_day)
    db.session.flush()
    forget_shown_calendars()
    return recompute_deadlines(province.id)


def remove_official_day(province, day: date, actor) -> int:
    """Take a wrongly entered date out of the calendar; deadlines are recounted without it."""
    row = db.session.get(OfficialCalendarDay, (province.id, day))
    if row is None:
        raise NotFound("province.calendar_day_not_found", _l("This date is not in the calendar."))
    db.session.delete(row)
    record_event(
        AuditTag.CALENDAR_DAY_REMOVED, actor=actor, day=day.isoformat(), was_working_day=row.is_working_day
    )
    db.session.flush()
    forget_shown_calendars()
    return recompute_deadlines(province.id)


def publish_year(province, year: int, actor) -> int:
    """Declare `year`'s official schedule complete, so deadlines may run into it.

    Returns how many pending deadlines became known or moved.
    """
    _check_calendar_year(year, _BAD_YEAR)
    row = db.session.get(PublishedCalendarYear, (province.id, year))
    if row is None:
        row = PublishedCalendarYear(province_id=province.id, year=year, published_by_id=actor.id)
        db.session.add(row)
        db.session.flush()
        record_event(AuditTag.CALENDAR_YEAR_PUBLISHED, actor=actor, year=year)
    forget_shown_calendars()
    return recompute_deadlines(province.id)


MAX_WINDOW_WORKING_DAYS = 60


def set_transfer_setting(
    province,
    *,
    route_order: TransferRouteOrder,
    provincial_step: bool,
    window_mode: TransferWindowMode,
    window_working_days: int,
    actor,
) -> TransferSetting:
    """Store how the province orders its side of a transfer route and when it takes applications."""
    if not 1 <= window_working_days <= MAX_WINDOW_WORKING_DAYS:
        raise ValidationFailed(
            "province.bad_window_days",
            _l("Working days of a window must be between 1 and %(max)s."),
            max=MAX_WINDOW_WORKING_DAYS,
        )
    row = db.session.get(TransferSetting, province.id) or TransferSetting(province_id=province.id)
    row.route_order = route_order
    row.provincial_step = provincial_step
    row.window_mode = window_mode
    row.window_working_days = window_working_days
    row.updated_by_id = actor.id
    db.session.add(row)
    record_event(
        AuditTag.PROVINCE_SETTINGS_CHANGED,
        actor=actor,
        kind="transfer",
        after={
            "route_order": str(route_order),
            "provincial_step": provincial_step,
            "window_mode": str(window_mode),
            "window_working_days": window_working_days,
        },
    )
    return row


def add_transfer_period(province, kind: str, starts_on: date, ends_on: date, actor) -> TransferPeriod:
    """A transfer window (dates) or a term (windows counted in working days from its ends)."""
    if kind not in ("window", "term"):
        raise ValidationFailed("province.bad_period_kind", _l("Unknown kind of period."))
    if ends_on < starts_on:
        raise ValidationFailed("province.period_ends_before_start", _l("The period ends before it starts."))
    period = TransferPeriod(province_id=province.id, kind=kind, starts_on=starts_on, ends_on=ends_on)
    db.session.add(period)
    record_event(
        AuditTag.PROVINCE_SETTINGS_CHANGED,
        actor=actor,
        kind="transfer",
        period={"kind": kind, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
    )
    return period


def remove_transfer_period(province, period_id: int, actor) -> None:
    period = db.session.get(TransferPeriod, period_id)
    if period is None or period.province_id != province.id:
        raise NotFound("province.period_not_found", _l("No such period."))
    db.session.delete(period)
    record_event(AuditTag.PROVINCE_SETTINGS_CHANGED, actor=actor, kind="transfer", removed_period=period_id)


def set_correction_setting(province, *, photo_is_key: bool, actor) -> CorrectionSetting:
    """Whether a new registry photo goes school → county (a key field) or to the school alone."""
    row = db.session.get(CorrectionSetting, province.id) or CorrectionSetting(province_id=province.id)
    before = bool(row.photo_is_key)
    row.photo_is_key = photo_is_key
    row.updated_by_id = actor.id
    db.session.add(row)
    record_event(
        AuditTag.PROVINCE_SETTINGS_CHANGED,
        actor=actor,
        kind="correction",
        before={"photo_is_key": before},
        after={"photo_is_key": photo_is_key},
    )
    return row
