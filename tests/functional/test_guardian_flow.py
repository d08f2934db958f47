"""A guardian signs in, links a child with the school's code, sees the status."""

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.guardians.service import issue_code
from tests.factories import make_guardian, make_student, make_tree, registrar_for
from tests.functional.conftest import post_form, sign_in

BIRTH = date(2016, 3, 14)


@pytest.fixture
def family(app):
    tree = make_tree()
    registrar = registrar_for(tree)
    guardian = make_guardian("13912345678", "陈家长")
    child = make_student(tree.school, registrar, name="陈小雨", birth=BIRTH)
    stranger_child = make_student(tree.school, registrar, name="赵一鸣", birth=BIRTH)
    _, code = issue_code(child, "陈家长", "13912345678", Relation.FATHER, registrar)
    db.session.commit()
    return {"guardian_id": guardian.id, "child_id": child.id, "stranger_id": stranger_child.id, "code": code}


def _links(guardian_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(GuardianLink).where(GuardianLink.guardian_id == guardian_id)
    )


def test_sign_in_with_a_wrong_password_is_refused_in_chinese(client, family):
    response = sign_in(client, "13912345678", "wrong password")
    assert response.status_code == 401
    assert "登录名或密码错误" in response.get_data(as_text=True)


def test_sign_in_then_link_a_child_and_see_the_status(client, family):
    response = sign_in(client, "13912345678")
    assert response.status_code == 302
    home = client.get("/children/")
    assert "陈小雨" not in home.get_data(as_text=True)

    response = post_form(
        client, "/children/link", {"code": family["code"].lower(), "birth_date": BIRTH.isoformat()}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "陈小雨" in page and "在读" in page
    assert "陈小雨" in client.get("/children/").get_data(as_text=True)


def test_a_wrong_birth_date_links_nothing_and_counts_the_attempt(client, family):
    sign_in(client, "13912345678")
    response = post_form(client, "/children/link", {"code": family["code"], "birth_date": "2016-03-15"})
    assert response.status_code == 400
    assert _links(family["guardian_id"]) == 0
    failures = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == "binding_code:failed")
    )
    assert failures == 1  # kept although the request was refused


def test_a_code_issued_to_another_mobile_number_does_not_work(client, family):
    make_guardian("13700000001")
    db.session.commit()
    sign_in(client, "13700000001")
    response = post_form(client, "/children/link", {"code": family["code"], "birth_date": BIRTH.isoformat()})
    assert response.status_code == 400


def test_a_double_submit_links_once(client, family):
    sign_in(client, "13912345678")
    for _ in range(2):
        response = post_form(
            client, "/children/link", {"code": family["code"], "birth_date": BIRTH.isoformat()}
        )
        assert response.status_code == 302
    assert _links(family["guardian_id"]) == 1


def test_another_familys_child_answers_404(client, family):
    sign_in(client, "13912345678")
    assert client.get(f"/children/{family['stranger_id']}").status_code == 404
    assert client.get(f"/api/v1/me/children/{family['stranger_id']}").status_code == 404


def test_a_guardian_cannot_open_staff_pages(client, family):
    sign_in(client, "13912345678")
    assert client.get("/staff/students").status_code == 403


def test_a_form_without_csrf_token_is_refused_and_changes_nothing(client, family):
    sign_in(client, "13912345678")
    response = client.post("/children/link", data={"code": family["code"], "birth_date": BIRTH.isoformat()})
    assert response.status_code == 400
    assert "request.csrf_failed" in response.get_data(as_text=True)
    assert _links(family["guardian_id"]) == 0


def test_signed_out_visitors_are_sent_to_sign_in(client, family):
    response = client.get("/children/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_language_switch_to_english_and_back(client, family):
    assert "登录" in client.get("/sign-in").get_data(as_text=True)
    response = post_form(client, "/language", {"language": "en", "next": "/sign-in"}, form_page="/sign-in")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert "Sign in" in client.get("/sign-in").get_data(as_text=True)
    post_form(client, "/language", {"language": "zh_Hans", "next": "/sign-in"}, form_page="/sign-in")
    assert "登录" in client.get("/sign-in").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client):
    response = post_form(
        client, "/language", {"language": "en", "next": "//evil.example/"}, form_page="/sign-in"
    )
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    ["/\t/evil.example", "/\n/evil.example", "/\\evil.example", "https://evil.example/", "/ /evil.example"],
)
def test_language_switch_refuses_disguised_off_site_targets(client, target):
    response = post_form(client, "/language", {"language": "en", "next": target}, form_page="/sign-in")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
