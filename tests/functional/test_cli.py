"""Command-line verbs run through Flask's CLI runner, inside the test's savepoint."""

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.approvals import engine
from portal.approvals.kinds import register, unregister
from portal.approvals.models import Alert, Step, StepState
from portal.audit.models import AuditEvent
from portal.demo.generator import is_empty
from portal.extensions import db
from portal.orgs.models import OrgUnit
from portal.provinces.models import TimeoutPolicy
from portal.provinces.service import set_rule
from portal.registry.models import Student
from tests.factories import SchoolThenCountyKind, make_staff, make_student, make_tree

KIND = SchoolThenCountyKind.name
FRIDAY_BEFORE_NATIONAL_DAY = date(2025, 9, 26)  # 10 working days later: 16 October 2025


@pytest.fixture
def overdue_case(app):
    register(SchoolThenCountyKind())
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    admin = make_staff(Role.PROVINCE_ADMIN, tree.province)
    student = make_student(tree.school, registrar)
    db.session.commit()
    ids = {
        "province": tree.province.id,
        "county": tree.county.id,
        "registrar": registrar.id,
        "admin": admin.id,
        "student": student.id,
    }
    yield ids
    unregister(KIND)


def _open(ids) -> list[int]:
    case = engine.open_case(
        KIND,
        db.session.get(Student, ids["student"]),
        db.session.get(User, ids["registrar"]),
        today=FRIDAY_BEFORE_NATIONAL_DAY,
    )
    db.session.commit()
    return [step.id for step in case.steps]


def _step(step_id: int) -> Step:
    db.session.expire_all()
    return db.session.get(Step, step_id)


def _timeouts(app, day: str):
    return app.test_cli_runner().invoke(args=["approvals", "timeouts", "--today", day])


def test_timeouts_flag_an_overdue_step_under_the_national_policy(app, overdue_case):
    first, second = _open(overdue_case)
    assert _step(first).due_on == date(2025, 10, 16)

    result = _timeouts(app, "2025-10-17")

    assert result.exit_code == 0, result.output
    assert "auto-approved: 0, flagged overdue: 1" in result.output
    step = _step(first)
    assert step.state == StepState.PENDING and step.overdue_since == date(2025, 10, 17)
    alert = db.session.scalar(select(Alert).where(Alert.step_id == first))
    assert alert is not None and alert.org_unit_id == overdue_case["county"]
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == "step:overdue")
        )
        == 1
    )
    assert _step(second).state == StepState.WAITING


def test_a_second_run_flags_nothing_new(app, overdue_case):
    _open(overdue_case)
    assert "flagged overdue: 1" in _timeouts(app, "2025-10-17").output
    result = _timeouts(app, "2025-10-20")
    assert result.exit_code == 0
    assert "auto-approved: 0, flagged overdue: 0" in result.output
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 1


def test_on_the_due_day_itself_nothing_is_overdue(app, overdue_case):
    first, _ = _open(overdue_case)
    result = _timeouts(app, "2025-10-16")
    assert result.exit_code == 0
    assert "auto-approved: 0, flagged overdue: 0" in result.output
    assert _step(first).overdue_since is None


def test_timeouts_auto_approve_where_the_province_says_so(app, overdue_case):
    set_rule(
        db.session.get(OrgUnit, overdue_case["province"]),
        KIND,
        10,
        TimeoutPolicy.AUTO_APPROVE,
        db.session.get(User, overdue_case["admin"]),
    )
    first, second = _open(overdue_case)
    result = _timeouts(app, "2025-10-17")
    assert result.exit_code == 0, result.output
    assert "auto-approved: 1, flagged overdue: 0" in result.output
    assert _step(first).state == StepState.TIMED_OUT
    assert _step(second).state == StepState.PENDING
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_malformed_date_is_refused_and_changes_nothing(app, overdue_case):
    first, _ = _open(overdue_case)
    result = _timeouts(app, "2025-13-01")
    assert result.exit_code == 2
    assert "--today" in result.output
    assert _step(first).overdue_since is None
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_demo_load_refuses_a_database_that_holds_data(app):
    make_tree()
    db.session.commit()
    units = db.session.scalar(select(func.count()).select_from(OrgUnit))

    result = app.test_cli_runner().invoke(args=["demo", "load", "--students", "30"])

    assert result.exit_code == 1
    assert "The database already holds data; use an empty one." in result.output
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == units
    assert db.session.scalar(select(func.count()).select_from(Student)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_load_fills_an_empty_database_and_reports_what_it_made(app):
    assert is_empty()
    result = app.test_cli_runner().invoke(args=["demo", "load", "--students", "40", "--seed", "3"])
    assert result.exit_code == 0, result.output
    counts = re.search(r"(\d+) schools, (\d+) students, (\d+) guardians, (\d+) staff accounts", result.output)
    assert counts, result.output
    schools, students, guardians, staff = map(int, counts.groups())
    assert students == 40 == db.session.scalar(select(func.count()).select_from(Student))
    assert schools == db.session.scalar(
        select(func.count()).select_from(OrgUnit).where(OrgUnit.level == "school")
    )
    assert guardians == db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "guardian")
    )
    assert staff == db.session.scalar(select(func.count()).select_from(User).where(User.role != "guardian"))
