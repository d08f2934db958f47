"""复学: the school's registrar sets the grade the student returns to when approving, among the
grades the school teaches; without one the grade on record stays (M-16 leaves it to the school)."""

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.approvals.models import Case
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.registry.models import HistoryKind, Student, StudentHistory
from portal.registry.service import change_status
from portal.registry.status import Status
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import csrf_token, post_form, sign_in

MOTHER = "13912340401"


@pytest.fixture
def ids(app):
    tree = make_tree()
    mother = make_guardian(MOTHER)
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "resume.clerk")
    child = make_student(tree.school, grade=5)
    change_status(child, Status.SUSPENDED, None, reason="因病休学")
    db.session.add(GuardianLink(guardian_id=mother.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.commit()
    return {"child": child.id}


def _resumption_step(client, ids) -> int:
    sign_in(client, MOTHER)
    opened = client.post(
        f"/api/v1/me/children/{ids['child']}/cases", json={"kind": "resumption", "reason": "病已痊愈"}
    )
    assert opened.status_code == 201, opened.json
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/inbox/")})
    sign_in(client, "resume.clerk")
    return opened.json["steps"][0]["id"]


def _child(ids) -> Student:
    return db.session.get(Student, ids["child"])


def test_the_registrar_sets_the_grade_on_return(ids, client):
    step_id = _resumption_step(client, ids)
    approved = client.post(f"/api/v1/steps/{step_id}/decision", json={"action": "approve", "grade": 4})
    assert approved.status_code == 200 and approved.json["state"] == "approved"
    child = _child(ids)
    assert (child.status, child.grade) == (Status.ATTENDING, 4)
    history = db.session.scalar(
        select(StudentHistory).where(
            StudentHistory.student_id == child.id, StudentHistory.kind == HistoryKind.FIELDS
        )
    )
    assert (history.before, history.after) == ({"grade": 5}, {"grade": 4})
    assert history.case_id == approved.json["id"]


@pytest.mark.parametrize("grade", [7, 0, 13])
def test_a_grade_the_school_does_not_teach_is_refused_and_nothing_changes(ids, client, grade):
    step_id = _resumption_step(client, ids)
    refused = client.post(f"/api/v1/steps/{step_id}/decision", json={"action": "approve", "grade": grade})
    assert refused.status_code == 400 and refused.json["code"] == "resumption.bad_grade"
    assert "东区实验小学" in refused.json["detail"]
    child = _child(ids)
    assert (child.status, child.grade) == (Status.SUSPENDED, 5)
    case = db.session.scalar(select(Case).where(Case.student_id == child.id, Case.kind == "resumption"))
    assert case.state == "open" and "grade" not in case.payload


def test_without_a_grade_the_grade_on_record_stays(ids, client):
    step_id = _resumption_step(client, ids)
    assert client.post(f"/api/v1/steps/{step_id}/decision", json={"action": "approve"}).status_code == 200
    child = _child(ids)
    assert (child.status, child.grade) == (Status.ATTENDING, 5)


def test_the_step_page_offers_the_schools_grades_and_posts_the_choice(ids, client):
    step_id = _resumption_step(client, ids)
    page = client.get(f"/staff/queue/steps/{step_id}").get_data(as_text=True)
    assert 'name="grade"' in page
    assert page.count("<option value=") == 6  # a primary school: grades 1 to 6
    assert '<option value="5" selected>' in page  # the grade on record first
    bad = post_form(
        client,
        f"/staff/queue/steps/{step_id}/decide",
        {"action": "approve", "grade": "9"},
        form_page=f"/staff/queue/steps/{step_id}",
    )
    assert bad.status_code == 400 and _child(ids).grade == 5
    done = post_form(
        client,
        f"/staff/queue/steps/{step_id}/decide",
        {"action": "approve", "grade": "6"},
        form_page=f"/staff/queue/steps/{step_id}",
    )
    assert done.status_code == 302 and (_child(ids).status, _child(ids).grade) == (Status.ATTENDING, 6)


def test_the_english_page_names_the_field(ids, client):
    step_id = _resumption_step(client, ids)
    client.set_cookie("lang", "en")
    assert "Grade on return" in client.get(f"/staff/queue/steps/{step_id}").get_data(as_text=True)
    client.set_cookie("lang", "zh")
    assert "Grade on return" not in client.get(f"/staff/queue/steps/{step_id}").get_data(as_text=True)
