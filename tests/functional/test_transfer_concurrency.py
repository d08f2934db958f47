"""Two registrars of one unit decide the same transfer step at the same moment: one wins."""

from __future__ import annotations

import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal import create_app
from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.config import config_for_tests
from portal.errors import DomainError
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests.conftest import fresh_database_url
from tests.factories import make_guardian, make_staff, make_student, make_tree


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    app = create_app(config_for_tests(fresh_database_url(tmp_path_factory, "transfer_race")))
    with app.app_context():
        upgrade()
        tree = make_tree()
        first = make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "race.rs.first")
        second = make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "race.rs.second")
        guardian = make_guardian()
        child = make_student(tree.school, grade=3)
        db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
        db.session.commit()
        ids = {
            "first": first.id,
            "second": second.id,
            "guardian": guardian.id,
            "child": child.id,
            "school": tree.other_school.id,
        }
    yield app, ids
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("first_action, second_action", [("approve", "approve"), ("approve", "reject")])
def test_two_registrars_decide_one_transfer_step_at_once(committed, first_action, second_action):
    from portal.accounts.models import User
    from portal.approvals.models import Case, Step
    from portal.registry.models import Student
    from portal.transfers import service

    app, ids = committed
    with app.app_context():
        case = service.apply_for_transfer(
            db.session.get(Student, ids["child"]),
            db.session.get(User, ids["guardian"]),
            to_school_id=ids["school"],
            reason="family_moved",
        )
        db.session.commit()
        case_id, step_id = case.id, case.steps[0].id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(actor_id: int, action: str) -> None:
        with app.app_context():
            actor = db.session.get(User, actor_id)
            db.session.commit()
            barrier.wait()
            try:
                service.decide(
                    step_id, actor, approve=action == "approve", reason="名额已满", class_name="2班"
                )
                db.session.commit()
                outcomes.append(action)
            except DomainError as error:
                db.session.rollback()
                outcomes.append(error.code)

    threads = [
        threading.Thread(target=decide, args=(ids["first"], first_action)),
        threading.Thread(target=decide, args=(ids["second"], second_action)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes).count("step.already_decided") == 1
    assert len(outcomes) == 2
    with app.app_context():
        decisions = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.case_id == case_id, AuditEvent.tag.in_(["step:approved", "step:rejected"]))
        )
        assert decisions == 1
        step = db.session.get(Step, step_id)
        case = db.session.get(Case, case_id)
        student = db.session.get(Student, ids["child"])
        winner = next(o for o in outcomes if o != "step.already_decided")
        assert step.state == ("approved" if winner == "approve" else "rejected")
        assert student.status == ("transferring" if winner == "approve" else "attending")
        # Clean up for the next parametrised run: end the case as its state allows.
        if case.state == "open":
            pending = next(s for s in case.steps if s.state == "pending")
            pending.state, case.state = "rejected", "rejected"
            student.status = "attending"
        db.session.commit()
