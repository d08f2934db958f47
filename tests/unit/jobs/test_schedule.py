"""The periodic jobs: the weekly digest for registrars and the daily deadline sweep."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.approvals import engine
from portal.approvals.kinds import register, unregister
from portal.extensions import db
from portal.jobs import huey, schedule
from portal.notifications.models import InboxMessage, OutboxMessage
from tests.factories import SchoolThenCountyKind, make_staff, make_student, make_tree


@pytest.fixture
def immediate():
    """Tasks run inline, inside the test's app context and transaction."""
    huey.immediate = True
    yield
    huey.immediate = False


@pytest.fixture
def waiting_cases(app):
    register(SchoolThenCountyKind())
    tree = make_tree()
    school_registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    school_registrar.email = "school.registrar@example.edu.cn"
    county_registrar = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    county_registrar.email = "county.registrar@example.edu.cn"
    other_registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.other_school)
    other_registrar.email = "other.registrar@example.edu.cn"
    students = [make_student(tree.school, school_registrar) for _ in range(3)]
    for student in students:
        engine.open_case(SchoolThenCountyKind.name, student, school_registrar)
    db.session.flush()
    yield school_registrar, students
    unregister(SchoolThenCountyKind.name)


def test_the_weekly_digest_mails_a_count_and_a_link_without_names(app, waiting_cases, immediate):
    school_registrar, students = waiting_cases

    schedule.weekly_digest()

    # Only the school has pending steps (the county's wait behind them): one digest.
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert mail.recipient == "school.registrar@example.edu.cn"
    assert mail.subject == "待办审批提醒"
    assert "3 项申请待审批" in mail.body
    assert mail.body.endswith("http://localhost:5000/staff/queue")
    assert not any(student.name in mail.body for student in students)
    inbox = db.session.scalar(select(InboxMessage))
    assert (inbox.recipient_id, inbox.params) == (school_registrar.id, {"count": 3})


def test_the_daily_sweep_applies_the_timeout_policy_and_commits_each_step(app, monkeypatch, immediate):
    calls = []

    def process_timeouts(today=None, *, after_each=None):
        calls.append(after_each)
        return engine.TimeoutReport()

    monkeypatch.setattr(engine, "process_timeouts", process_timeouts)
    schedule.sweep_deadlines()
    assert calls == [db.session.commit]


def test_the_consumer_entry_point_knows_what_runs_when():
    from portal.jobs import worker

    periodic = {task.__name__: task() for task in worker.huey._registry._periodic_tasks}
    assert set(periodic) >= {"deliver_outbox_every_minute", "sweep_deadlines", "weekly_digest"}
    runs_at = {name: task.validate_datetime for name, task in periodic.items()}
    monday_0830_china, tuesday = datetime(2026, 11, 23, 0, 30), datetime(2026, 11, 24, 0, 30)
    assert runs_at["weekly_digest"](monday_0830_china) and not runs_at["weekly_digest"](tuesday)
    assert runs_at["sweep_deadlines"](datetime(2026, 11, 24, 17, 0))  # 01:00 in China
    assert not runs_at["sweep_deadlines"](datetime(2026, 11, 24, 1, 0))
    assert runs_at["deliver_outbox_every_minute"](datetime(2026, 11, 24, 9, 41))
