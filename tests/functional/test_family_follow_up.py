"""Any guardian linked to the child follows a case up (resubmit, withdraw), whoever started it;
nobody else does, and staff still never decide their own case."""

from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import Role, User
from portal.approvals import engine
from portal.approvals.models import Case, CaseEvent
from portal.errors import DomainError
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import csrf_token, sign_in

MOTHER, FATHER, STRANGER = "13912340301", "13912340302", "13912340303"


@pytest.fixture
def ids(app):
    tree = make_tree()
    mother, father = make_guardian(MOTHER), make_guardian(FATHER)
    make_guardian(STRANGER)
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "counter.clerk")
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "colleague.clerk")
    child = make_student(tree.school, grade=4)
    for parent, relation in ((mother, Relation.MOTHER), (father, Relation.FATHER)):
        db.session.add(GuardianLink(guardian_id=parent.id, student_id=child.id, relation=relation))
    db.session.commit()
    return {"child": child.id}


def _suspension():
    return {
        "kind": "suspension",
        "reason": "因病休养",
        "return_on": (clock.today() + timedelta(days=90)).isoformat(),
    }


def _as(client, login):
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/inbox/")})
    sign_in(client, login)


def _events(case_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))


def _opened_by_mother(client, ids) -> dict:
    sign_in(client, MOTHER)
    return client.post(f"/api/v1/me/children/{ids['child']}/cases", json=_suspension()).json


def test_the_other_parent_resubmits_and_withdraws(ids, client):
    case = _opened_by_mother(client, ids)
    _as(client, "colleague.clerk")
    step_id = case["steps"][0]["id"]
    client.post(f"/api/v1/steps/{step_id}/decision", json={"action": "return", "reason": "请补充诊断证明"})
    _as(client, FATHER)
    seen = client.get(f"/api/v1/cases/{case['id']}").json
    assert seen["state"] == "returned" and seen["can_withdraw"] is True
    page = client.get(f"/requests/{case['id']}").get_data(as_text=True)
    assert 'name="note"' in page  # the resubmit form is offered to the other parent too
    photo = BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 40)).save(photo, "JPEG")
    upload = client.post("/api/v1/evidence", data={"file": (BytesIO(photo.getvalue()), "x.jpg")}).json
    again = client.post(
        f"/api/v1/cases/{case['id']}/resubmit", json={"note": "爸爸补充", "evidence": [upload["id"]]}
    )
    assert again.status_code == 200 and again.json["state"] == "open"
    assert again.json["resubmission_notes"] == ["爸爸补充"]
    # The school reads the father's document on the case (not only the requester's uploads).
    _as(client, "colleague.clerk")
    assert client.get(f"/evidence/{upload['id']}").status_code == 200
    _as(client, FATHER)
    withdrawn = client.post(f"/api/v1/cases/{case['id']}/withdraw", json={"reason": "不休学了"})
    assert withdrawn.status_code == 200 and withdrawn.json["state"] == "withdrawn"


def test_a_guardian_withdraws_what_a_registrar_opened_from_a_paper_form(ids, client):
    sign_in(client, "counter.clerk")
    case = client.post(f"/api/v1/students/{ids['child']}/cases", json=_suspension()).json
    assert case["state"] == "open"
    _as(client, MOTHER)
    assert client.get(f"/api/v1/cases/{case['id']}").json["can_withdraw"] is True
    first = client.post(f"/api/v1/cases/{case['id']}/withdraw", json={})
    assert first.status_code == 200 and first.json["state"] == "withdrawn"
    events = _events(case["id"])
    # A retried tap: answered as done, nothing written twice.
    second = client.post(f"/api/v1/cases/{case['id']}/withdraw", json={})
    assert second.status_code == 200 and second.json["state"] == "withdrawn"
    assert _events(case["id"]) == events
    # Resubmitting a withdrawn case is refused cleanly, and changes nothing.
    refused = client.post(f"/api/v1/cases/{case['id']}/resubmit", json={"note": "再试"})
    assert refused.status_code == 409 and refused.json["code"] == "case.not_returned"
    assert _events(case["id"]) == events


def test_an_unlinked_guardian_gets_404_and_changes_nothing(ids, client):
    case = _opened_by_mother(client, ids)
    events = _events(case["id"])
    _as(client, STRANGER)
    assert client.get(f"/api/v1/cases/{case['id']}").status_code == 404
    for verb, body in (("withdraw", {}), ("resubmit", {"note": "x"})):
        answer = client.post(f"/api/v1/cases/{case['id']}/{verb}", json=body)
        assert answer.status_code == 404 and answer.json["code"] == "case.not_found"
    assert db.session.get(Case, case["id"]).state == "open" and _events(case["id"]) == events


def test_a_revoked_link_no_longer_follows_up(ids, client):
    case = _opened_by_mother(client, ids)
    father = db.session.scalar(select(User).where(User.mobile == FATHER))
    link = db.session.scalar(select(GuardianLink).where(GuardianLink.guardian_id == father.id))
    link.revoked_at = clock.now()
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        engine.withdraw(case["id"], father)
    assert refused.value.code == "case.not_found"


def test_staff_follow_up_only_their_own_case_and_never_decide_it(ids, client):
    sign_in(client, "counter.clerk")
    case = client.post(f"/api/v1/students/{ids['child']}/cases", json=_suspension()).json
    clerk = db.session.scalar(select(User).where(User.username == "counter.clerk"))
    colleague = db.session.scalar(select(User).where(User.username == "colleague.clerk"))
    with pytest.raises(DomainError) as own:
        engine.decide(case["steps"][0]["id"], clerk, approve=True)
    assert own.value.code == "step.requester_cannot_decide"
    with pytest.raises(DomainError) as not_theirs:  # a colleague decides; it is not theirs to withdraw
        engine.withdraw(case["id"], colleague)
    assert not_theirs.value.code == "case.not_found"
    assert engine.withdraw(case["id"], clerk).state == "withdrawn"
