"""Two deadline sweeps at once: every late step is flagged (or approved on timeout) once.

Committed for real from two threads with their own connections, in a database of their own.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal import create_app
from portal.accounts.models import Role
from portal.approvals import engine
from portal.approvals.kinds import register, unregister
from portal.approvals.models import Alert, Step, StepState
from portal.audit.models import AuditEvent
from portal.config import config_for_tests
from portal.extensions import db
from portal.provinces.models import TimeoutPolicy
from portal.provinces.service import set_rule
from tests.conftest import fresh_database_url
from tests.factories import SchoolThenCountyKind, make_staff, make_student, make_tree

OPENED_ON = date(2025, 9, 26)  # due 16 October on the national rule
SWEEP_DAY = date(2025, 12, 1)  # late for all, on either rule
FLAGGED, AUTO = 120, 30


@pytest.fixture(scope="module")
def late_steps(tmp_path_factory):
    app = create_app(config_for_tests(fresh_database_url(tmp_path_factory, "sweep")))
    register(SchoolThenCountyKind())
    with app.app_context():
        upgrade()
        flagging, approving = make_tree(), make_tree()
        admin = make_staff(Role.PROVINCE_ADMIN, approving.province)
        set_rule(approving.province, "*", 10, TimeoutPolicy.AUTO_APPROVE, admin)
        for tree, count in ((flagging, FLAGGED), (approving, AUTO)):
            clerk = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
            student = make_student(tree.school)
            for _ in range(count):
                engine.open_case(SchoolThenCountyKind.name, student, clerk, today=OPENED_ON)
        db.session.commit()
    yield app
    unregister(SchoolThenCountyKind.name)
    with app.app_context():
        db.engine.dispose()


def _sweep_twice_at_once(app) -> list[engine.TimeoutReport]:
    barrier = threading.Barrier(2)
    reports: list[engine.TimeoutReport] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        with app.app_context():
            barrier.wait()
            try:
                reports.append(
                    engine.process_timeouts(SWEEP_DAY, after_each=db.session.commit, chunk_size=25)
                )
                db.session.commit()
            except BaseException as error:  # reported below, not lost in the thread
                errors.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return reports


def _count(app, statement) -> int:
    with app.app_context():
        return db.session.scalar(statement)


def test_two_sweeps_at_once_flag_and_approve_each_late_step_once(late_steps):
    app = late_steps
    first, second = _sweep_twice_at_once(app)
    flagged = first.flagged_overdue + second.flagged_overdue
    approved = first.auto_approved + second.auto_approved
    assert len(flagged) == len(set(flagged)) == FLAGGED
    assert len(approved) == len(set(approved)) == AUTO
    assert _count(app, select(func.count()).select_from(Alert)) == FLAGGED
    overdue_events = select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == "step:overdue")
    assert _count(app, overdue_events) == FLAGGED
    timed_out_events = select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == "step:timed_out")
    assert _count(app, timed_out_events) == AUTO
    # Each approved-on-timeout case moved on exactly once: its second step is now pending.
    second_steps = (
        select(func.count()).select_from(Step).where(Step.position == 1, Step.state == StepState.PENDING)
    )
    assert _count(app, second_steps) == AUTO

    # The next day's run touches nothing already flagged.
    with app.app_context():
        again = engine.process_timeouts(SWEEP_DAY, after_each=db.session.commit)
        db.session.commit()
    assert again.flagged_overdue == [] and again.auto_approved == []
    assert _count(app, select(func.count()).select_from(Alert)) == FLAGGED
