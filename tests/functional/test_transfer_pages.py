"""A transfer through the pages: the family applies and follows it; four registrars decide."""

import io
import re

from sqlalchemy import select

from portal.accounts.models import Role
from portal.approvals.models import Case
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests import evidence_files
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import post_form, sign_in


def _world():
    tree = make_tree()
    guardian = make_guardian("13912347001")
    db.session.flush()
    make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "tr.rs")
    make_staff(Role.COUNTY_REGISTRAR, tree.other_county, "tr.rc")
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "tr.ss")
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "tr.sc")
    child = make_student(tree.school, grade=4)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.FATHER))
    db.session.commit()
    return tree.other_school.id, child.id


def _decide(app, login, action="approve", **fields):
    client = app.test_client()
    sign_in(client, login)
    queue = client.get("/staff/transfers").get_data(as_text=True)
    step_path = re.search(r'href="(/staff/transfers/steps/\d+)"', queue).group(1)
    page = client.get(step_path).get_data(as_text=True)
    assert "东区实验小学" in page and "西区小学" in page  # both schools on the review
    for ref in re.findall(r'href="(/evidence/[0-9a-f]+)"', page):
        assert client.get(ref).headers["Content-Type"] == "image/jpeg"  # the registrar sees the proof
    return post_form(client, f"{step_path}/decide", {"action": action, **fields}, form_page=step_path)


def test_the_family_applies_and_follows_four_parties(app, client, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path)
    to_school_id, child_id = _world()
    sign_in(client, "13912347001")
    search = client.get(f"/children/{child_id}/transfer?q=西区").get_data(as_text=True)
    assert "西区小学" in search
    assert "东区第一中学" not in search  # a senior high school does not teach grade 4
    answer = post_form(
        client,
        f"/children/{child_id}/transfer",
        {
            "to_school_id": to_school_id,
            "reason": "family_moved",
            "evidence_files": (io.BytesIO(evidence_files.jpeg_with_gps()), "户口本.jpg"),
            "action": "apply",
        },
        form_page=f"/children/{child_id}/transfer?q=西区",
    )
    assert answer.status_code == 302
    progress_path = answer.headers["Location"]
    evidence = db.session.scalar(select(Case.payload).where(Case.student_id == child_id))["evidence"]
    assert len(evidence) == 1 and len(evidence[0]) == 32  # the photo, stored and referenced
    page = client.get(progress_path).get_data(as_text=True)
    assert page.count('class="step step-') == 4
    assert "<progress" in page and 'value="0"' in page
    assert re.search(r"XJ-\d{4}-\d{6}", page)  # the reference number, as every case's
    assert "撤回申请" in page  # withdrawable until a party approves
    assert _decide(app, "tr.rs", grade="4", class_name="3班").status_code == 302
    page = client.get(progress_path).get_data(as_text=True)
    assert "西区小学 · 学校学籍管理员" in page  # unit and role, never a staff name
    assert "测试管理员" not in page
    assert 'value="1"' in page and "撤回申请" not in page
    for login in ("tr.rc", "tr.ss", "tr.sc"):
        assert _decide(app, login).status_code == 302
    page = client.get(progress_path).get_data(as_text=True)
    assert 'value="4"' in page
    assert "转学已完成" in page
    child_page = client.get(f"/children/{child_id}").get_data(as_text=True)
    assert "由东区实验小学转入西区小学（四年级，3班）" in child_page  # the history names the move
    assert "/transfers/" in child_page  # the finished transfer still links to its progress
    staff_client = app.test_client()
    sign_in(staff_client, "tr.ss")
    archives = staff_client.get("/staff/transfers/archives").get_data(as_text=True)
    archive_path = re.search(r'href="(/staff/transfers/archives/\d+)"', archives).group(1)
    assert "只读" in staff_client.get(archive_path).get_data(as_text=True)
    other = app.test_client()
    sign_in(other, "tr.rs")  # the receiving school does not keep the sending school's copy
    assert other.get(archive_path).status_code == 404


def test_a_returned_application_can_be_completed_and_a_rejection_read(app, client):
    to_school_id, child_id = _world()
    sign_in(client, "13912347001")
    post_form(
        client,
        f"/children/{child_id}/transfer",
        {"to_school_id": to_school_id, "reason": "job_moved", "action": "apply"},
        form_page=f"/children/{child_id}/transfer?q=西区",
    )
    case_id = db.session.scalar(select(Case.id).where(Case.student_id == child_id))
    assert _decide(app, "tr.rs", action="return", reason="请补充工作调动证明").status_code == 302
    page = client.get(f"/transfers/{case_id}").get_data(as_text=True)
    assert "请补充工作调动证明" in page
    post_form(
        client,
        f"/transfers/{case_id}/resubmit",
        {"note": "已补充"},
        form_page=f"/transfers/{case_id}",
    )
    assert _decide(app, "tr.rs", action="reject", reason="学位已满").status_code == 302
    page = client.get(f"/transfers/{case_id}").get_data(as_text=True)
    assert "学位已满" in page
    assert "东区实验小学" in page  # the child stays at the sending school


def test_another_family_cannot_see_the_progress_page(app, client):
    to_school_id, child_id = _world()
    sign_in(client, "13912347001")
    post_form(
        client,
        f"/children/{child_id}/transfer",
        {"to_school_id": to_school_id, "reason": "job_moved", "action": "apply"},
        form_page=f"/children/{child_id}/transfer?q=西区",
    )
    case_id = db.session.scalar(select(Case.id).where(Case.student_id == child_id))
    make_guardian("13912347002")
    db.session.commit()
    stranger = app.test_client()
    sign_in(stranger, "13912347002")
    assert stranger.get(f"/transfers/{case_id}").status_code == 404


def test_the_receiving_school_enters_an_application_at_the_counter(app, client):
    to_school_id, child_id = _world()
    from portal.registry.models import Student

    number = db.session.get(Student, child_id).student_number
    sign_in(client, "tr.rs")
    answer = post_form(
        client,
        "/staff/transfers/new",
        {"student_number": number, "reason": "family_moved"},
    )
    assert answer.status_code == 302
    case = db.session.scalar(select(Case).where(Case.student_id == child_id))
    assert case.steps[0].org_unit_id == to_school_id
