"""Pages that show days left keep a province's calendar for a minute per worker; an
administrator's change shows at once; deadlines are always counted on a fresh read."""

from __future__ import annotations

from datetime import date

from portal.accounts.models import Role
from portal.extensions import db
from portal.provinces import rules
from portal.provinces.rules import shown_calendar, working_calendar
from portal.provinces.service import set_official_day
from tests.factories import make_staff, make_tree
from tests.functional.test_query_counts import count_queries

# A Monday to a Friday in 2026 with no holiday between them.
MONDAY, FRIDAY = date(2026, 3, 9), date(2026, 3, 13)


def test_a_shown_calendar_is_read_once_a_minute(app, monkeypatch):
    province_id = make_tree().province.id
    db.session.commit()
    now = [1000.0]
    monkeypatch.setattr(rules.time, "monotonic", lambda: now[0])

    with count_queries() as first:
        assert shown_calendar(province_id).working_days_between(MONDAY, FRIDAY) == 4
    with count_queries() as again:
        shown_calendar(province_id)
    now[0] += rules.CALENDAR_SECONDS + 1
    with count_queries() as later:
        shown_calendar(province_id)

    assert len(first) == 2  # the province's dated entries, its published years
    assert again == []
    assert len(later) == 2


def test_an_administrators_change_shows_at_once(app):
    tree = make_tree()
    admin = make_staff(Role.PROVINCE_ADMIN, tree.province)
    db.session.commit()
    assert shown_calendar(tree.province.id).working_days_between(MONDAY, FRIDAY) == 4

    set_official_day(tree.province, date(2026, 3, 11), False, "本省节日", admin)

    assert shown_calendar(tree.province.id).working_days_between(MONDAY, FRIDAY) == 3


def test_deadlines_are_counted_on_a_fresh_read(app):
    province_id = make_tree().province.id
    db.session.commit()
    shown_calendar(province_id)
    with count_queries() as statements:
        working_calendar(province_id)
    assert len(statements) == 2
