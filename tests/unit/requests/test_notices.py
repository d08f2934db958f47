"""Every case change reaches the family's inbox (and phone), and the deciding unit's inbox."""

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role
from portal.approvals import engine
from portal.approvals.models import Step
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.notifications.models import Channel, InboxMessage, OutboxMessage
from portal.notifications.service import render
from tests.factories import make_guardian, make_staff, make_student, make_tree


@pytest.fixture
def world(app):
    tree = make_tree()
    mother, father = make_guardian(), make_guardian()
    school = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    child = make_student(tree.school, grade=4, name="欧阳小慧")
    for guardian in (mother, father):
        db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.flush()
    return tree, mother, father, school, county, child


def _suspension():
    return {"reason": "因病休养", "return_on": (clock.today() + timedelta(days=90)).isoformat()}


def _inbox(user) -> list[InboxMessage]:
    return list(
        db.session.scalars(
            select(InboxMessage).where(InboxMessage.recipient_id == user.id).order_by(InboxMessage.id)
        )
    )


def _texts(user) -> list[str]:
    with force_locale("zh_Hans"):
        return ["".join(render(message)) for message in _inbox(user)]


def test_the_family_hears_of_every_move_and_the_unit_of_its_pending_step(world):
    tree, mother, father, school, county, child = world
    case = engine.open_case("suspension", child, mother, _suspension())
    assert [m.kind for m in _inbox(mother)] == ["requests.opened"]
    assert [m.kind for m in _inbox(father)] == ["requests.opened"]  # every linked guardian
    assert [m.kind for m in _inbox(school)] == ["requests.step_pending"]
    assert _inbox(school)[0].url == f"/staff/queue/steps/{case.steps[0].id}"
    assert _inbox(county) == []

    engine.return_case(case.steps[0].id, school, missing="医院诊断证明")
    engine.resubmit(case.id, mother)
    assert [m.kind for m in _inbox(school)] == ["requests.step_pending", "requests.step_pending"]
    engine.decide(case.steps[0].id, school, approve=True)
    assert [m.kind for m in _inbox(county)] == ["requests.step_pending"]
    engine.decide(case.steps[1].id, county, approve=False, reason="证明材料不足")

    assert [m.kind for m in _inbox(mother)] == [
        "requests.opened",
        "requests.returned",
        "requests.step_passed",
        "requests.rejected",
    ]
    texts = _texts(mother)
    assert f"您的孩子的{'休学'}" in texts[0] and case.reference in texts[0]
    assert "医院诊断证明" in texts[1]
    assert tree.county.name in texts[2]
    assert "证明材料不足" in texts[3]
    for text in texts:
        assert "欧阳" not in text and child.document_number not in text
    assert all(m.url == f"/requests/{case.id}" for m in _inbox(mother))
    to_mother = select(OutboxMessage).where(OutboxMessage.recipient == mother.mobile)
    sms = db.session.scalars(to_mother.where(OutboxMessage.channel == Channel.SMS)).all()
    assert len(sms) == 4 and all(case.reference in m.body for m in sms)


def test_approval_and_withdrawal_are_told(world):
    tree, mother, father, school, county, child = world
    case = engine.open_case("suspension", child, mother, _suspension())
    engine.decide(case.steps[0].id, school, approve=True)
    engine.decide(case.steps[1].id, county, approve=True)
    assert _inbox(mother)[-1].kind == "requests.approved"
    other = make_student(tree.school, grade=5)
    db.session.add(GuardianLink(guardian_id=mother.id, student_id=other.id, relation=Relation.MOTHER))
    db.session.flush()
    second = engine.open_case("suspension", other, mother, _suspension())
    engine.withdraw(second.id, mother)
    assert _inbox(mother)[-1].kind == "requests.withdrawn"


def test_numbers_a_registrar_types_are_redacted_from_messages(world):
    tree, mother, father, school, county, child = world
    case = engine.open_case("suspension", child, mother, _suspension())
    engine.return_case(case.steps[0].id, school, missing=f"请核对证件 {child.document_number}")
    text = _texts(mother)[-1]
    assert child.document_number not in text and "[redacted]" in text


def test_the_sweep_tells_the_family_when_a_step_is_late(world):
    tree, mother, father, school, county, child = world
    case = engine.open_case("suspension", child, mother, _suspension())
    step = db.session.get(Step, case.steps[0].id)
    report = engine.process_timeouts(today=step.due_on + timedelta(days=1))
    assert step.id in report.flagged_overdue
    assert _inbox(mother)[-1].kind == "requests.overdue"
    assert tree.school.name in _texts(mother)[-1]
    to_father = select(OutboxMessage.id).where(OutboxMessage.recipient == father.mobile)
    assert db.session.scalar(to_father.where(OutboxMessage.body.contains("超")))
    # Flagged once: a second sweep tells nobody again.
    engine.process_timeouts(today=step.due_on + timedelta(days=2))
    assert [m.kind for m in _inbox(mother)].count("requests.overdue") == 1
