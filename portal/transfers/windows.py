"""When a province lets transfers be applied for (AH-25), and how it orders its route (AH-21).

A province without settings follows the national rules: any time, the national route.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.provinces.models import (
    TransferPeriod,
    TransferRouteOrder,
    TransferSetting,
    TransferWindowMode,
)
from portal.provinces.rules import working_calendar
from portal.workdays.calendar import BeyondKnownCalendar

NATIONAL_SETTING = TransferSetting(
    route_order=TransferRouteOrder.SCHOOL_FIRST,
    provincial_step=False,
    window_mode=TransferWindowMode.NONE,
    window_working_days=20,
)


def setting_for(province_id: int) -> TransferSetting:
    return db.session.get(TransferSetting, province_id) or NATIONAL_SETTING


def windows_of(province_id: int) -> list[tuple[date, date]] | None:
    """The province's transfer windows, first to last; None when it sets none (any day)."""
    setting = setting_for(province_id)
    mode = TransferWindowMode(setting.window_mode)
    if mode == TransferWindowMode.NONE:
        return None
    kind = "window" if mode == TransferWindowMode.DATES else "term"
    periods = db.session.execute(
        select(TransferPeriod.starts_on, TransferPeriod.ends_on)
        .where(TransferPeriod.province_id == province_id, TransferPeriod.kind == kind)
        .order_by(TransferPeriod.starts_on)
    ).all()
    if mode == TransferWindowMode.DATES:
        return [(start, end) for start, end in periods]
    calendar = working_calendar(province_id)
    windows = []
    for start, end in periods:
        # AH-25: 开学后或结束前 N 个工作日内 — after the term starts, or before it ends.
        after_start = calendar.add_working_days(start - timedelta(days=1), setting.window_working_days)
        windows.append((start, after_start.due_on or end))
        windows.append((_working_days_before(calendar, end, setting.window_working_days), end))
    return windows


def _working_days_before(calendar, end: date, count: int) -> date:
    day, remaining = end, count
    while remaining:
        try:
            remaining -= calendar.is_working_day(day)
        except BeyondKnownCalendar:  # an unknown year: count every day
            remaining -= 1
        if remaining:
            day -= timedelta(days=1)
    return day


def is_open_on(province_id: int, day: date) -> bool:
    windows = windows_of(province_id)
    return windows is None or any(start <= day <= end for start, end in windows)


def next_window(province_id: int, day: date) -> tuple[date, date] | None:
    return next(((s, e) for s, e in windows_of(province_id) or [] if s > day), None)
