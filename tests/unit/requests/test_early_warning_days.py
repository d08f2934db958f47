"""The early warning's "soon due": within 5 working days on the province's own holiday calendar,
not 5 calendar days (a week of National Day holidays is not five days of work)."""

from datetime import date, timedelta

import pytest

from portal import clock
from portal.accounts.models import Role
from portal.approvals import engine
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.provinces.models import OfficialCalendarDay
from portal.provinces.rules import working_calendar
from portal.requests import service
from tests.factories import make_guardian, make_staff, make_student, make_tree

FRIDAY_BEFORE_NATIONAL_DAY = date(2025, 9, 26)  # 1–8 October 2025 off; Sunday 28 September worked


@pytest.fixture
def area(app):
    """Two provinces, each with a county registrar and one pending step whose due date we set."""
    worlds = []
    for _ in range(2):
        tree = make_tree()
        county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
        mother = make_guardian()
        child = make_student(tree.school)
        db.session.add(GuardianLink(guardian_id=mother.id, student_id=child.id, relation=Relation.MOTHER))
        payload = {"reason": "因病休养", "return_on": (clock.today() + timedelta(days=90)).isoformat()}
        case = engine.open_case("suspension", child, mother, payload)
        worlds.append((tree, county, case.steps[0]))
    db.session.flush()
    return worlds


def _soon(county, today) -> list[int]:
    return [step.id for step in service.early_warning(county, today=today)["soon"]]


@pytest.mark.parametrize(
    ("due_on", "soon"),
    [
        (date(2025, 9, 28), True),  # the make-up Sunday: 1 working day
        (date(2025, 10, 9), True),  # 4 working days, 13 calendar days
        (date(2025, 10, 10), True),  # the 5th working day
        (date(2025, 10, 11), False),  # the make-up Saturday: the 6th
        (date(2025, 9, 25), False),  # already past (overdue, not soon)
    ],
)
def test_soon_counts_working_days_across_national_day(area, due_on, soon):
    tree, county, step = area[0]
    step.due_on = due_on
    db.session.flush()
    assert (step.id in _soon(county, FRIDAY_BEFORE_NATIONAL_DAY)) is soon


def test_each_province_counts_on_its_own_calendar(area):
    (tree, county, step), (other_tree, other_county, other_step) = area
    # One province adds a holiday of its own on 29 September: its 5th working day moves on.
    db.session.add(
        OfficialCalendarDay(province_id=tree.province.id, day=date(2025, 9, 29), is_working_day=False)
    )
    step.due_on = other_step.due_on = date(2025, 10, 11)
    db.session.flush()
    assert step.id in _soon(county, FRIDAY_BEFORE_NATIONAL_DAY)
    assert other_step.id not in _soon(other_county, FRIDAY_BEFORE_NATIONAL_DAY)
    assert service.soon_until(working_calendar(tree.province.id), FRIDAY_BEFORE_NATIONAL_DAY) == date(
        2025, 10, 11
    )
    assert service.soon_until(working_calendar(other_tree.province.id), FRIDAY_BEFORE_NATIONAL_DAY) == date(
        2025, 10, 10
    )


def test_the_county_does_not_see_another_provinces_steps(area):
    (tree, county, step), (other_tree, other_county, other_step) = area
    step.due_on = other_step.due_on = date(2025, 9, 29)
    db.session.flush()
    assert _soon(county, FRIDAY_BEFORE_NATIONAL_DAY) == [step.id]


def test_past_the_known_calendar_the_unknown_days_count_as_weekdays(area):
    tree, county, step = area[0]
    calendar = working_calendar(tree.province.id)
    assert not calendar.is_known(date(2027, 1, 1))  # the 2027 schedule is not published yet
    # Tuesday 29 December 2026: two known working days, then Friday 1, Monday 4, Tuesday 5 January.
    assert service.soon_until(calendar, date(2026, 12, 29)) == date(2027, 1, 5)
