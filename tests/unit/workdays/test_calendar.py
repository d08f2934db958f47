"""Working days follow the State Council schedule and say when they run out of it."""

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.workdays import calendar as workdays
from portal.workdays.calendar import (
    BeyondKnownCalendar,
    Deadline,
    OfficialDay,
    WorkingCalendar,
)

# The whole 2027 schedule is not in chinesecalendar; 1 January is always a holiday.
NEW_YEAR_2027 = OfficialDay(date(2027, 1, 1), is_working_day=False)


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


# --- the data these hand-computed expectations rely on -----------------------


def test_chinesecalendar_has_the_national_day_2025_schedule():
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # Sunday, make-up day
    assert chinese_calendar.is_workday(date(2025, 10, 11))  # Saturday, make-up day
    holiday = [date(2025, 10, 1) + timedelta(days=i) for i in range(8)]
    assert not any(chinese_calendar.is_workday(d) for d in holiday)
    assert chinese_calendar.is_workday(date(2025, 10, 9))


def test_chinesecalendar_has_the_spring_festival_2026_schedule():
    assert chinese_calendar.is_workday(date(2026, 2, 14))  # Saturday, make-up day
    assert chinese_calendar.is_workday(date(2026, 2, 28))  # Saturday, make-up day
    holiday = [date(2026, 2, 15) + timedelta(days=i) for i in range(9)]
    assert not any(chinese_calendar.is_workday(d) for d in holiday)
    assert chinese_calendar.is_workday(date(2026, 2, 24))
    assert not chinese_calendar.is_workday(date(2026, 3, 1))  # ordinary Sunday


# --- holidays and make-up days ------------------------------------------------


def test_national_day_2025_ten_working_days_after_friday_26_september(cal):
    # 28 Sep (Sun, make-up) 29 30 | 1-8 Oct holiday | 9 10 11 (Sat, make-up) 13 14 15 16
    deadline = cal.add_working_days(date(2025, 9, 26), 10)
    assert deadline == Deadline(due_on=date(2025, 10, 16))
    assert deadline.due_on != date(2025, 10, 10)  # the Monday-to-Friday answer
    assert not deadline.is_beyond_known_calendar


def test_one_working_day_after_30_september_2025_is_9_october(cal):
    assert cal.add_working_days(date(2025, 9, 30), 1).due_on == date(2025, 10, 9)


def test_spring_festival_2026_ten_working_days_after_10_february(cal):
    # 11 12 13 14 (Sat, make-up) | 15-23 holiday | 24 25 26 27 28 (Sat, make-up) | 2 Mar
    assert cal.add_working_days(date(2026, 2, 10), 10).due_on == date(2026, 3, 2)


def test_spring_festival_2026_first_working_day_after_the_holiday(cal):
    assert cal.add_working_days(date(2026, 2, 14), 1).due_on == date(2026, 2, 24)
    assert cal.add_working_days(date(2026, 2, 27), 1).due_on == date(2026, 2, 28)


def test_is_working_day_follows_make_up_days_and_holidays(cal):
    assert cal.is_working_day(date(2025, 9, 28))  # Sunday, make-up day
    assert not cal.is_working_day(date(2025, 10, 6))  # Monday, holiday
    assert not cal.is_working_day(date(2025, 10, 12))  # ordinary Sunday
    assert cal.is_working_day(date(2025, 10, 13))  # ordinary Monday


# --- the start day is not counted ---------------------------------------------


def test_one_working_day_after_a_monday_is_the_tuesday(cal):
    assert cal.add_working_days(date(2025, 3, 3), 1).due_on == date(2025, 3, 4)


def test_one_working_day_after_a_friday_is_the_monday(cal):
    assert cal.add_working_days(date(2025, 3, 7), 1).due_on == date(2025, 3, 10)


def test_one_working_day_after_a_friday_before_a_make_up_sunday(cal):
    # Friday 26 Sep 2025 is followed by make-up Sunday 28 Sep.
    assert cal.add_working_days(date(2025, 9, 26), 1).due_on == date(2025, 9, 28)


def test_a_working_start_day_is_still_not_counted(cal):
    assert cal.working_days_between(date(2025, 3, 3), date(2025, 3, 3)) == 0
    assert cal.working_days_between(date(2025, 3, 3), date(2025, 3, 4)) == 1


@pytest.mark.parametrize("n", [0, -1])
def test_fewer_than_one_working_day_is_refused(cal, n):
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 3, 3), n)


# --- beyond the known calendar ------------------------------------------------


def test_count_into_an_unpublished_year_does_not_guess(cal):
    # 12 working days remain in 2026 after 15 Dec; the other 8 need 2027.
    deadline = cal.add_working_days(date(2026, 12, 15), 20)
    assert deadline == Deadline(due_on=None, known_until=date(2026, 12, 31), missing_year=2027)
    assert deadline.is_beyond_known_calendar


def test_count_that_ends_inside_the_known_year_is_exact(cal):
    assert cal.add_working_days(date(2026, 12, 15), 12).due_on == date(2026, 12, 31)


def test_published_2027_gives_an_exact_date_that_skips_new_year(cal):
    published = WorkingCalendar([NEW_YEAR_2027], published_years=[2027])
    # 8 in 2027 after 1 Jan (holiday): 4-8 Jan, 11 12 13.
    assert published.add_working_days(date(2026, 12, 15), 20) == Deadline(date(2027, 1, 13))


def test_published_2027_without_entries_follows_monday_to_friday():
    plain = WorkingCalendar(published_years=[2027])
    assert plain.add_working_days(date(2026, 12, 15), 20).due_on == date(2027, 1, 12)
    assert plain.is_working_day(date(2027, 1, 1))  # a Friday with no entry
    assert not plain.is_working_day(date(2027, 1, 2))  # a Saturday


def test_an_official_day_overrides_chinesecalendar():
    eve = OfficialDay(date(2026, 12, 31), is_working_day=False)
    overridden = WorkingCalendar([eve, NEW_YEAR_2027], published_years=[2027])
    # 11 in 2026, 9 in 2027: 4-8 Jan, 11 12 13 14.
    assert overridden.add_working_days(date(2026, 12, 15), 20).due_on == date(2027, 1, 14)
    assert not overridden.is_working_day(date(2026, 12, 31))
    # Without 2027 the same 12th working day is no longer in 2026.
    unpublished = WorkingCalendar([eve])
    assert unpublished.add_working_days(date(2026, 12, 15), 12).is_beyond_known_calendar


def test_an_official_make_up_day_overrides_a_weekend():
    saturday = date(2025, 3, 8)
    cal = WorkingCalendar([OfficialDay(saturday, is_working_day=True)])
    assert cal.is_working_day(saturday)
    assert cal.add_working_days(date(2025, 3, 7), 1).due_on == saturday


def test_is_working_day_raises_for_2027_unless_published(cal):
    with pytest.raises(BeyondKnownCalendar) as raised:
        cal.is_working_day(date(2027, 1, 4))
    assert raised.value.year == 2027
    assert not cal.is_known(date(2027, 1, 4))
    published = WorkingCalendar(published_years=[2027])
    assert published.is_known(date(2027, 1, 4))
    assert published.is_working_day(date(2027, 1, 4))


def test_entries_alone_do_not_make_a_year_known():
    cal = WorkingCalendar([NEW_YEAR_2027])
    assert not cal.is_known(date(2027, 1, 1))
    with pytest.raises(BeyondKnownCalendar):
        cal.is_working_day(date(2027, 1, 1))


def test_years_chinesecalendar_covers_are_known(cal):
    assert cal.is_known(date(2004, 1, 1))
    assert cal.is_known(date(2026, 12, 31))
    assert not cal.is_known(date(2003, 12, 31))


def test_working_days_between_is_none_across_an_unknown_year(cal):
    assert cal.working_days_between(date(2026, 12, 15), date(2027, 1, 13)) is None
    published = WorkingCalendar([NEW_YEAR_2027], published_years=[2027])
    assert published.working_days_between(date(2026, 12, 15), date(2027, 1, 13)) == 20


def test_working_days_between_is_zero_when_end_is_not_after_start(cal):
    assert cal.working_days_between(date(2025, 10, 16), date(2025, 9, 26)) == 0


def test_working_days_between_counts_the_national_day_gap(cal):
    assert cal.working_days_between(date(2025, 9, 26), date(2025, 10, 16)) == 10
    assert cal.working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == 0


def test_contradictory_official_entries_are_refused():
    day = date(2026, 10, 10)
    with pytest.raises(ValueError):
        WorkingCalendar([OfficialDay(day, True), OfficialDay(day, False)])


def test_chinesecalendar_is_asked_once_per_year(monkeypatch):
    calls = []
    real = chinese_calendar.is_workday

    def counting(day):
        calls.append(day)
        return real(day)

    monkeypatch.setattr(chinese_calendar, "is_workday", counting)
    workdays._chinese_calendar_year.cache_clear()
    try:
        WorkingCalendar().add_working_days(date(2025, 9, 26), 10)
        first = len(calls)
        WorkingCalendar().add_working_days(date(2025, 9, 26), 10)
        WorkingCalendar().working_days_between(date(2025, 1, 1), date(2025, 12, 31))
        assert first > 0
        assert len(calls) == first
    finally:
        workdays._chinese_calendar_year.cache_clear()


# --- properties ---------------------------------------------------------------

KNOWN_STARTS = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))
COUNTS = st.integers(min_value=1, max_value=30)


@settings(deadline=None)
@given(start=KNOWN_STARTS, n=COUNTS)
def test_a_deadline_is_a_later_working_day_exactly_n_away(start, n):
    cal = WorkingCalendar()
    deadline = cal.add_working_days(start, n)
    assume(not deadline.is_beyond_known_calendar)
    assert deadline.due_on > start
    assert cal.is_working_day(deadline.due_on)
    assert cal.working_days_between(start, deadline.due_on) == n
    # The day before the deadline still has one working day to go.
    assert cal.working_days_between(start, deadline.due_on - timedelta(days=1)) == n - 1


@settings(deadline=None)
@given(start=KNOWN_STARTS, n=COUNTS, m=COUNTS)
def test_adding_n_then_m_equals_adding_n_plus_m(start, n, m):
    cal = WorkingCalendar()
    whole = cal.add_working_days(start, n + m)
    assume(not whole.is_beyond_known_calendar)
    first = cal.add_working_days(start, n)
    assert cal.add_working_days(first.due_on, m) == whole


@settings(deadline=None)
@given(
    start=st.dates(min_value=date(2026, 6, 1), max_value=date(2026, 12, 31)),
    # June to December 2026 holds fewer than 150 working days: every count runs past it.
    n=st.integers(min_value=150, max_value=400),
)
def test_a_count_past_the_known_calendar_stops_at_its_last_day(start, n):
    cal = WorkingCalendar()
    deadline = cal.add_working_days(start, n)
    assert deadline.is_beyond_known_calendar
    assert deadline.missing_year == 2027
    assert deadline.known_until == date(2026, 12, 31)
