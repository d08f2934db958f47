"""A registrar searches the unit's students, reads a record (audited), manages links."""

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.guardians.models import BindingCode, GuardianLink
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import post_form, sign_in


@pytest.fixture
def school(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "reg.east")
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "county.east")
    make_staff(Role.COUNTY_REGISTRAR, tree.other_county, "county.west")
    mine = make_student(tree.school, registrar, name="刘子涵")
    senior = make_student(tree.senior_school, registrar, name="刘思远", grade=11)
    elsewhere = make_student(tree.other_school, registrar, name="刘佳怡")
    db.session.commit()
    return {
        "mine": mine.id,
        "senior": senior.id,
        "elsewhere": elsewhere.id,
        "document": mine.document_number,
        "registrar": registrar.id,
    }


def _tags(student_id: int) -> list[str]:
    return db.session.scalars(
        select(AuditEvent.tag).where(AuditEvent.student_id == student_id).order_by(AuditEvent.id)
    ).all()


def _issue_code(client, student_id: int, mobile: str, *, name: str = "刘爸爸", relation: str = "father"):
    """Post the record page's "issue a binding code" form, as the browser would."""
    page_path = f"/staff/students/{student_id}"
    form = {"guardian_name": name, "guardian_mobile": mobile, "relation": relation}
    return post_form(client, f"{page_path}/codes", form, form_page=page_path)


def test_school_registrar_sees_only_their_school(client, school):
    sign_in(client, "reg.east")
    page = client.get("/staff/students?q=刘").get_data(as_text=True)
    assert "刘子涵" in page and "刘思远" not in page and "刘佳怡" not in page
    assert client.get(f"/staff/students/{school['elsewhere']}").status_code == 404


def test_county_registrar_sees_every_school_of_the_county(client, school):
    sign_in(client, "county.east")
    page = client.get("/staff/students?q=刘").get_data(as_text=True)
    assert "刘子涵" in page and "刘思远" in page and "刘佳怡" not in page


def test_search_by_exact_student_number(client, school):
    sign_in(client, "county.west")
    number = db.session.scalar(
        select(db.metadata.tables["students"].c.student_number).where(
            db.metadata.tables["students"].c.id == school["elsewhere"]
        )
    )
    page = client.get(f"/staff/students?q={number.lower()}").get_data(as_text=True)
    assert "刘佳怡" in page


def test_reading_a_record_is_audited_and_the_number_is_masked(client, school):
    sign_in(client, "reg.east")
    page = client.get(f"/staff/students/{school['mine']}").get_data(as_text=True)
    assert school["document"] not in page
    assert school["document"][:3] + "*" in page
    assert "student:viewed" in _tags(school["mine"])


def test_revealing_the_full_number_is_a_recorded_act(client, school):
    sign_in(client, "reg.east")
    response = post_form(
        client, f"/staff/students/{school['mine']}/reveal", {}, form_page=f"/staff/students/{school['mine']}"
    )
    assert school["document"] in response.get_data(as_text=True)
    assert "student:document_revealed" in _tags(school["mine"])


def test_issue_a_code_then_revoke_the_link_it_made(client, school):
    from portal.guardians.service import redeem_code
    from portal.registry.models import Student

    sign_in(client, "reg.east")
    response = _issue_code(client, school["mine"], "139 0000 1111")
    assert response.status_code == 200
    code = re.search(r'data-binding-code="([A-Z0-9]{8})"', response.get_data(as_text=True))
    assert code, "the new code is shown once"
    guardian = make_guardian("13900001111")
    birth = db.session.get(Student, school["mine"]).birth_date
    link = redeem_code(guardian, code.group(1), birth)
    db.session.commit()

    page_path = f"/staff/students/{school['mine']}"
    refused = post_form(client, f"{page_path}/links/{link.id}/revoke", {"reason": ""})
    assert refused.status_code == 400 and db.session.get(GuardianLink, link.id).revoked_at is None
    response = post_form(client, f"{page_path}/links/{link.id}/revoke", {"reason": "监护关系变更"})
    assert response.status_code == 302
    assert db.session.get(GuardianLink, link.id).revoked_at is not None
    assert "guardian_link:revoked" in _tags(school["mine"])


def test_a_bad_mobile_number_issues_no_code(client, school):
    sign_in(client, "reg.east")
    response = _issue_code(client, school["mine"], "12345")
    assert response.status_code == 400
    assert db.session.scalar(select(BindingCode).where(BindingCode.student_id == school["mine"])) is None


def test_county_registrar_cannot_manage_links(client, school):
    sign_in(client, "county.east")
    response = _issue_code(client, school["mine"], "13900001111")
    assert response.status_code == 403


def test_guardian_mobile_numbers_are_full_for_the_school_and_masked_above_it(client, school):
    from portal.accounts.models import User
    from portal.guardians.models import Relation
    from portal.guardians.service import issue_code
    from portal.registry.models import Student

    issue_code(
        db.session.get(Student, school["mine"]),
        "刘妈妈",
        "13911112222",
        Relation.MOTHER,
        db.session.get(User, school["registrar"]),
    )
    db.session.commit()
    page_path = f"/staff/students/{school['mine']}"
    sign_in(client, "reg.east")
    assert "13911112222" in client.get(page_path).get_data(as_text=True)
    county = client.application.test_client()
    sign_in(county, "county.east")
    page = county.get(page_path).get_data(as_text=True)
    assert "13911112222" not in page and "139****2222" in page


def test_an_unknown_relation_issues_no_code(client, school):
    sign_in(client, "reg.east")
    response = _issue_code(client, school["mine"], "13900001111", name="刘舅舅", relation="uncle")
    assert response.status_code == 400
    assert "请选择与孩子的关系" in response.get_data(as_text=True)
    assert db.session.scalar(select(BindingCode).where(BindingCode.student_id == school["mine"])) is None


def test_a_new_code_comes_with_a_printable_slip(client, school):
    sign_in(client, "reg.east")
    page = _issue_code(client, school["mine"], "13900001111").get_data(as_text=True)
    slip = page[page.index("data-slip") : page.index("data-print")]
    code = re.search(r'data-binding-code="([A-Z0-9]{8})"', page).group(1)
    assert slip.count(code) == 1  # the code, once, on the slip
    assert "http://localhost/first-sign-in" in slip and "139****1111" in slip and "出生日期" in slip
    assert "13900001111" not in slip  # the slip may be lost: the number is masked
    assert "print.js" in page
