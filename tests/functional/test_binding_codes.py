"""Binding codes: every unusable code is refused the same way, links nothing, and counts the try."""

import re
from datetime import date, timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import Role, User
from portal.audit.models import AuditEvent
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.guardians.models import BindingCode, GuardianLink, Relation
from portal.guardians.service import issue_code, redeem_code
from portal.registry.documents import Gender
from portal.registry.models import Student
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import post_form, sign_in

BIRTH = date(2016, 3, 14)
MOBILE = "13912345678"
OTHER_MOBILE = "13711112222"
REFUSED = "绑定码和出生日期与等待绑定到本账号的孩子不符。请核对两者，或向学校申请新的绑定码。"
REVOKED_FLASH = "绑定码已作废。"


@pytest.fixture
def family(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "reg.codes")
    make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "reg.elsewhere")
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "county.codes")
    guardian = make_guardian(MOBILE, "陈家长")
    other_guardian = make_guardian(OTHER_MOBILE, "林家长")
    child = make_student(tree.school, registrar, name="陈小雨", birth=BIRTH)
    sibling = make_student(
        tree.school, registrar, name="陈小雪", birth=date(2014, 6, 2), gender=Gender.FEMALE
    )
    row, code = issue_code(child, "陈家长", MOBILE, Relation.FATHER, registrar)
    db.session.commit()
    return {
        "guardian": guardian.id,
        "other_guardian": other_guardian.id,
        "child": child.id,
        "sibling": sibling.id,
        "registrar": registrar.id,
        "code": code,
        "code_id": row.id,
    }


def _code(code_id: int) -> BindingCode:
    db.session.expire_all()
    return db.session.get(BindingCode, code_id)


def _live_links(guardian_id: int | None = None, student_id: int | None = None) -> int:
    query = select(func.count()).select_from(GuardianLink).where(GuardianLink.revoked_at.is_(None))
    if guardian_id is not None:
        query = query.where(GuardianLink.guardian_id == guardian_id)
    if student_id is not None:
        query = query.where(GuardianLink.student_id == student_id)
    return db.session.scalar(query)


def _count(tag: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == tag))


def _redeem(client, code: str, birth: date = BIRTH):
    return post_form(client, "/children/link", {"code": code, "birth_date": birth.isoformat()})


def _make_unusable(family, cause: str) -> None:
    row = db.session.get(BindingCode, family["code_id"])
    if cause == "expired":
        row.expires_at = clock.now() - timedelta(minutes=1)
    elif cause == "revoked":
        row.revoked_at = clock.now() - timedelta(hours=1)
    elif cause == "too_many_attempts":
        row.failed_attempts = current_app.config["BINDING_CODE_MAX_ATTEMPTS"]
    else:
        raise AssertionError(cause)
    db.session.commit()


UNUSABLE = ["expired", "revoked", "too_many_attempts"]


# --- Unusable codes ------------------------------------------------------------------------


@pytest.mark.parametrize("cause", UNUSABLE)
def test_an_unusable_code_is_refused_links_nothing_and_counts_the_attempt(client, family, cause):
    _make_unusable(family, cause)
    attempts_before = _code(family["code_id"]).failed_attempts
    sign_in(client, MOBILE)

    response = _redeem(client, family["code"])

    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert _live_links(student_id=family["child"]) == 0
    row = _code(family["code_id"])
    assert row.used_at is None
    assert row.failed_attempts == attempts_before + 1  # committed although refused
    assert _count("binding_code:failed") == 1
    assert _count("guardian_link:created") == 0
    assert "陈小雨" not in client.get("/children/").get_data(as_text=True)


@pytest.mark.parametrize("cause", UNUSABLE)
def test_the_service_refuses_an_unusable_code_with_the_one_stable_code(app, family, cause):
    _make_unusable(family, cause)
    guardian = db.session.get(User, family["guardian"])
    with pytest.raises(ValidationFailed) as refused:
        redeem_code(guardian, family["code"], BIRTH)
    assert refused.value.code == "binding.code_refused"
    assert refused.value.status == 400
    assert refused.value.keep_bookkeeping is True
    assert _live_links(student_id=family["child"]) == 0


_TOKEN = re.compile(r'name="csrf_token" value="[^"]+"')


def _comparable(response) -> str:
    body = _TOKEN.sub("", response.get_data(as_text=True))
    return re.sub(r'(name="code" type="text" value=")[^"]*"', r'\1"', body)


def test_every_cause_of_refusal_gives_the_same_page(client, family, app):
    """Expired, revoked, exhausted, unknown, wrong birth date: the form says the same thing."""
    registrar = db.session.get(User, family["registrar"])
    student = db.session.get(Student, family["child"])
    codes = {}
    for cause in UNUSABLE:
        row, plain = issue_code(student, "陈家长", MOBILE, Relation.FATHER, registrar)
        codes[cause] = (row.id, plain)
    db.session.commit()
    for cause, (code_id, _) in codes.items():
        _make_unusable({"code_id": code_id}, cause)
    sign_in(client, MOBILE)

    answers = [_redeem(client, plain) for _, plain in codes.values()]
    answers.append(_redeem(client, "ZZZZZZZZ"))
    answers.append(_redeem(client, family["code"], BIRTH + timedelta(days=1)))

    assert {answer.status_code for answer in answers} == {400}
    assert REFUSED in answers[0].get_data(as_text=True)
    first = _comparable(answers[0])
    # Same message; only the echoed birth date may differ for the wrong-birth-date try.
    for answer in answers[1:-1]:
        assert _comparable(answer) == first
    assert REFUSED in answers[-1].get_data(as_text=True)
    assert _live_links(student_id=family["child"]) == 0


def test_a_code_used_by_its_guardian_is_refused_to_another_guardian(client, app, family):
    sign_in(client, MOBILE)
    assert _redeem(client, family["code"]).status_code == 302
    assert _live_links(family["guardian"], family["child"]) == 1

    other = app.test_client()
    sign_in(other, OTHER_MOBILE)
    response = _redeem(other, family["code"])
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert _live_links(family["other_guardian"]) == 0
    assert _live_links(student_id=family["child"]) == 1
    assert _code(family["code_id"]).failed_attempts == 1


def test_a_used_code_cannot_link_again_after_the_school_revoked_the_link(client, app, family):
    sign_in(client, MOBILE)
    assert _redeem(client, family["code"]).status_code == 302
    link = db.session.scalar(select(GuardianLink).where(GuardianLink.guardian_id == family["guardian"]))
    link.revoked_at = clock.now()
    db.session.commit()

    response = _redeem(client, family["code"])
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert _live_links(family["guardian"]) == 0


# --- Counting failed attempts ---------------------------------------------------------------


def test_failed_attempts_are_counted_and_the_code_locks_after_the_maximum(client, app, family):
    maximum = app.config["BINDING_CODE_MAX_ATTEMPTS"]
    sign_in(client, MOBILE)
    for attempt in range(1, maximum + 1):
        response = _redeem(client, family["code"], BIRTH + timedelta(days=attempt))
        assert response.status_code == 400
        assert _code(family["code_id"]).failed_attempts == attempt
    assert _count("binding_code:failed") == maximum

    response = _redeem(client, family["code"])  # now the right birth date
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert _live_links(student_id=family["child"]) == 0
    assert _code(family["code_id"]).used_at is None


def test_one_attempt_short_of_the_maximum_the_right_answer_still_links(client, app, family):
    maximum = app.config["BINDING_CODE_MAX_ATTEMPTS"]
    sign_in(client, MOBILE)
    for attempt in range(1, maximum):
        assert _redeem(client, family["code"], BIRTH - timedelta(days=attempt)).status_code == 400
    response = _redeem(client, family["code"])
    assert response.status_code == 302
    assert _live_links(family["guardian"], family["child"]) == 1
    assert _code(family["code_id"]).used_at is not None


def test_a_refused_attempt_keeps_its_count_but_nothing_else(client, family):
    sign_in(client, MOBILE)
    _redeem(client, family["code"], date(2016, 3, 15))
    row = _code(family["code_id"])
    assert (row.failed_attempts, row.used_at, row.revoked_at) == (1, None, None)
    assert _live_links() == 0
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "binding_code:failed")).all()
    assert [(event.actor_id, event.data.get("code_id")) for event in failed] == [
        (family["guardian"], family["code_id"])
    ]


# --- Staff side: issuing and revoking -------------------------------------------------------


def test_a_registrar_of_another_school_cannot_issue_a_code(client, family):
    sign_in(client, "reg.elsewhere")
    codes_before = db.session.scalar(select(func.count()).select_from(BindingCode))
    response = post_form(
        client,
        f"/staff/students/{family['child']}/codes",
        {"guardian_name": "假家长", "guardian_mobile": OTHER_MOBILE, "relation": "father"},
        form_page="/staff/students",
    )
    assert response.status_code == 404
    assert "data-binding-code" not in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(BindingCode)) == codes_before
    assert _count("binding_code:issued") == 1  # only the fixture's own code


def test_revoking_a_code_on_the_staff_page_makes_it_unusable(client, app, family):
    page = f"/staff/students/{family['child']}"
    sign_in(client, "reg.codes")
    assert "陈家长" in client.get(page).get_data(as_text=True)

    revoke_page = f"{page}/codes/{family['code_id']}/revoke"
    assert f'href="{revoke_page}"' in client.get(page).get_data(as_text=True)  # a link, not a one-tap form
    assert client.get(revoke_page).status_code == 200
    without_reason = post_form(client, revoke_page, {"reason": " "})
    assert without_reason.status_code == 400 and _code(family["code_id"]).revoked_at is None

    response = post_form(client, revoke_page, {"reason": "家长更换了手机号"})

    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    after = client.get(page).get_data(as_text=True)
    assert REVOKED_FLASH in after
    assert f"/codes/{family['code_id']}/revoke" not in after  # no longer listed as open
    assert _code(family["code_id"]).revoked_at is not None
    assert _count("binding_code:revoked") == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "binding_code:revoked"))
    assert event.data["reason"] == "家长更换了手机号"

    guardian = app.test_client()
    sign_in(guardian, MOBILE)
    refused = _redeem(guardian, family["code"])
    assert refused.status_code == 400
    assert REFUSED in refused.get_data(as_text=True)
    assert _live_links(student_id=family["child"]) == 0


def test_a_code_cannot_be_revoked_through_another_students_page(client, app, family):
    page = f"/staff/students/{family['sibling']}"
    sign_in(client, "reg.codes")
    response = post_form(client, f"{page}/codes/{family['code_id']}/revoke", {"reason": "x"}, form_page=page)
    assert response.status_code == 404
    assert _code(family["code_id"]).revoked_at is None
    assert _count("binding_code:revoked") == 0


@pytest.mark.parametrize(("login", "status"), [("reg.elsewhere", 404), ("county.codes", 403)])
def test_only_the_childs_school_may_revoke_its_codes(client, app, family, login, status):
    sign_in(client, login)
    response = post_form(
        client,
        f"/staff/students/{family['child']}/codes/{family['code_id']}/revoke",
        {"reason": "x"},
        form_page="/staff/students",
    )
    assert response.status_code == status
    assert _code(family["code_id"]).revoked_at is None

    guardian = app.test_client()
    sign_in(guardian, MOBILE)
    assert _redeem(guardian, family["code"]).status_code == 302  # still usable
    assert _live_links(family["guardian"], family["child"]) == 1


def test_signing_out_and_in_again_does_not_reset_the_code_attempt_limit(client, family):
    sign_in(client, MOBILE)
    for _ in range(10):
        post_form(client, "/children/link", {"code": "WRONG234", "birth_date": "2016-03-14"})
    assert (
        post_form(client, "/children/link", {"code": "WRONG234", "birth_date": "2016-03-14"}).status_code
        == 429
    )
    post_form(client, "/sign-out", {}, form_page="/children/")
    sign_in(client, MOBILE)
    response = post_form(client, "/children/link", {"code": family["code"], "birth_date": BIRTH.isoformat()})
    assert response.status_code == 429
    assert _live_links(family["guardian"]) == 0


def test_issuing_again_for_the_same_guardian_leaves_only_the_newest_code_working(client, family):
    registrar = db.session.get(User, family["registrar"])
    child = db.session.get(Student, family["child"])
    _, newer_code = issue_code(child, "陈家长", MOBILE, Relation.FATHER, registrar)
    db.session.commit()
    assert _code(family["code_id"]).revoked_at is not None
    sign_in(client, MOBILE)
    refused = post_form(client, "/children/link", {"code": family["code"], "birth_date": BIRTH.isoformat()})
    assert refused.status_code == 400
    linked = post_form(client, "/children/link", {"code": newer_code, "birth_date": BIRTH.isoformat()})
    assert linked.status_code == 302
