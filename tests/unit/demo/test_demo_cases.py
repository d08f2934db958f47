"""The demo's requests: a case behind each status, and something real on every page."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.approvals.models import Alert, Case, CaseState, Step, StepState
from portal.demo.generator import generate
from portal.extensions import db
from portal.registry.models import Student
from portal.registry.status import Status
from portal.requests import service


@pytest.fixture
def demo(app):
    return generate(students=1500, seed=7)


def test_every_suspended_abroad_withdrawn_or_deregistered_student_has_its_approved_case(demo):
    kinds = {
        Status.SUSPENDED: "suspension",
        Status.ABROAD: "abroad",
        Status.WITHDRAWN: "withdrawal",
        Status.DEREGISTERED: "deregistration",
    }
    students = db.session.scalars(select(Student).where(Student.status.in_(list(kinds)))).all()
    assert students
    approved = {
        (case.student_id, case.kind)
        for case in db.session.scalars(select(Case).where(Case.state == CaseState.APPROVED))
    }
    for student in students:
        assert (student.id, kinds[student.status_enum]) in approved
        if student.status == Status.SUSPENDED:
            assert student.status_until is not None


def test_a_believable_mix_of_states_and_no_two_live_cases_for_a_student(demo):
    states = Counter(db.session.scalars(select(Case.state)))
    for state in CaseState:
        assert states[state] > 0, state
    live_states = [CaseState.OPEN, CaseState.RETURNED]
    live = Counter(db.session.scalars(select(Case.student_id).where(Case.state.in_(live_states))))
    assert max(live.values()) == 1
    overdue = db.session.scalar(select(func.count()).where(Step.overdue_since.is_not(None)))
    assert overdue and db.session.scalar(select(func.count()).select_from(Alert)) == overdue
    kinds = set(db.session.scalars(select(Case.kind).where(Case.state == CaseState.OPEN)))
    # Every status kind a family starts, and the transfers in flight (portal/demo/generator.py).
    assert kinds == {"suspension", "resumption", "withdrawal", "abroad", "transfer"}


def test_the_demo_registrars_and_the_demo_guardian_have_something_to_see(demo):
    school = db.session.scalar(select(User).where(User.username == "school.demo"))
    county = db.session.scalar(select(User).where(User.username == "county.demo"))
    school_queue = service.queue_page(school)
    assert school_queue.total >= 10 and school_queue.overdue >= 1 and school_queue.returned >= 1
    assert service.queue_page(county).total >= 3
    guardian = db.session.scalar(select(User).where(User.mobile == "13800138000"))
    cases = db.session.scalars(select(Case).where(Case.requester_id == guardian.id)).all()
    assert {case.state for case in cases} >= {CaseState.OPEN, CaseState.RETURNED, CaseState.REJECTED}
    for case in cases:
        if case.state == CaseState.OPEN and case.kind != "transfer":
            assert [s.state for s in case.steps] == [StepState.APPROVED, StepState.PENDING]


def test_the_engine_continues_a_demo_case(demo):
    from portal.approvals import engine

    county = db.session.scalar(select(User).where(User.username == "county.demo"))
    step = service.queue_page(county).steps[0]
    engine.decide(step.id, county, approve=True)
    assert db.session.get(Case, step.case_id).state == CaseState.APPROVED
