"""Two registrars press "approve" on the same step at the same moment.

These tests commit for real, from two threads with their own connections, in a database
of their own (the savepoint-per-test fixture cannot show what another connection sees).
"""

from __future__ import annotations

import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal import create_app
from portal.accounts.models import Role
from portal.approvals import engine
from portal.approvals.kinds import register, unregister
from portal.approvals.models import Step, StepState
from portal.audit.models import AuditEvent
from portal.config import config_for_tests
from portal.errors import DomainError
from portal.extensions import db
from tests.conftest import fresh_database_url
from tests.factories import SchoolThenCountyKind, make_staff, make_student, make_tree


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    app = create_app(config_for_tests(fresh_database_url(tmp_path_factory, "concurrency")))
    register(SchoolThenCountyKind())
    with app.app_context():
        upgrade()
        tree = make_tree()
        first = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "race.first")
        second = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "race.second")
        clerk = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "race.clerk")  # starts the cases
        student = make_student(tree.school, first)
        db.session.commit()
        ids = {"first": first.id, "second": second.id, "clerk": clerk.id, "student": student.id}
    yield app, ids
    unregister(SchoolThenCountyKind.name)
    with app.app_context():
        db.engine.dispose()


def _open_case(app, ids) -> int:
    from portal.accounts.models import User
    from portal.registry.models import Student

    with app.app_context():
        case = engine.open_case(
            SchoolThenCountyKind.name,
            db.session.get(Student, ids["student"]),
            db.session.get(User, ids["clerk"]),
        )
        db.session.commit()
        return case.steps[0].id


def _race(app, step_id: int, actor_ids: list[int]) -> list[str]:
    """Each actor approves `step_id` in its own thread, released together."""
    from portal.accounts.models import User

    barrier = threading.Barrier(len(actor_ids))
    outcomes: list[str] = []

    def approve(actor_id: int) -> None:
        with app.app_context():
            actor = db.session.get(User, actor_id)
            db.session.commit()  # hold no transaction (SQLite: no write lock) while waiting
            barrier.wait()
            try:
                engine.decide(step_id, actor, approve=True)
                db.session.commit()
                outcomes.append("approved")
            except DomainError as error:
                db.session.rollback()
                outcomes.append(error.code)

    threads = [threading.Thread(target=approve, args=(a,)) for a in actor_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def _decisions(app, step_id: int) -> tuple[int, int]:
    with app.app_context():
        step = db.session.get(Step, step_id)
        approvals = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.tag == "step:approved", AuditEvent.case_id == step.case_id)
        )
        next_steps = db.session.scalar(
            select(func.count())
            .select_from(Step)
            .where(Step.case_id == step.case_id, Step.state == StepState.PENDING)
        )
        return approvals, next_steps


def test_two_registrars_at_once_one_wins_the_other_is_told(committed):
    app, ids = committed
    step_id = _open_case(app, ids)
    assert _race(app, step_id, [ids["first"], ids["second"]]) == ["approved", "step.already_decided"]
    assert _decisions(app, step_id) == (1, 1)


def test_the_same_registrar_twice_at_once_is_idempotent(committed):
    app, ids = committed
    step_id = _open_case(app, ids)
    assert _race(app, step_id, [ids["first"], ids["first"]]) == ["approved", "approved"]
    assert _decisions(app, step_id) == (1, 1)


def test_the_same_submit_twice_at_once_opens_one_case(committed):
    from portal.accounts.models import User
    from portal.approvals.models import Case
    from portal.registry.models import Student

    app, ids = committed
    barrier = threading.Barrier(2)
    case_ids: list[int] = []

    def submit() -> None:
        with app.app_context():
            student = db.session.get(Student, ids["student"])
            requester = db.session.get(User, ids["first"])
            db.session.commit()
            barrier.wait()
            case = engine.open_case(
                SchoolThenCountyKind.name,
                student,
                requester,
                {"why": "flaky network"},
                idempotency_key="double-tap-1",
            )
            db.session.commit()
            case_ids.append(case.id)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(case_ids) == 2 and case_ids[0] == case_ids[1]
    with app.app_context():
        stored = db.session.scalar(
            select(func.count()).select_from(Case).where(Case.idempotency_key == "double-tap-1")
        )
    assert stored == 1
