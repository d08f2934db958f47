"""Getting in by mobile number: the first sign-in from the school's code, a forgotten password.

The SMS codes are read where a phone would get them: the outbox, delivered by its worker to
the (null) SMS sender.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Passkey, Role, User
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.guardians.service import issue_code
from portal.notifications.models import OutboxMessage
from portal.notifications.senders import sms_sender
from portal.notifications.worker import deliver_due
from tests.factories import PASSWORD, make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import csrf_token, post_form, sign_in
from tests.soft_authenticator import SoftAuthenticator

NEW_MOBILE = "13955554444"
BIRTH = date(2016, 3, 14)
NEW_PASSWORD = "new garden lantern"
SAME_ANSWER = "如该号码已开通账号，6位验证码将通过短信发送。"


@pytest.fixture
def school(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "gi.school")
    child = make_student(tree.school, registrar, birth=BIRTH)
    _, code = issue_code(child, "赵家长", NEW_MOBILE, Relation.MOTHER, registrar)
    make_guardian("13955553333")
    db.session.commit()
    sms_sender().sent.clear()
    return {"code": code, "child": child.id}


def _texts_to(mobile: str) -> list[str]:
    deliver_due()
    return [body for to, body in sms_sender().sent if to == mobile]


def _sms_code(mobile: str) -> str:
    return re.search(r"\d{6}", _texts_to(mobile)[-1]).group(0)


def _start(client, code: str, mobile: str = NEW_MOBILE, birth: date = BIRTH):
    return post_form(
        client, "/first-sign-in", {"mobile": mobile, "code": code, "birth_date": birth.isoformat()}
    )


def _finish(client, sms_code: str, password: str = NEW_PASSWORD):
    return post_form(
        client,
        "/first-sign-in/verify",
        {"sms_code": sms_code, "new_password": password, "repeat_password": password},
    )


def test_a_new_guardian_gets_an_account_and_the_child_linked_in_one_step(client, school):
    response = _start(client, school["code"])
    assert response.headers["Location"] == "/first-sign-in/verify"
    assert db.session.scalar(select(func.count()).select_from(User).where(User.mobile == NEW_MOBILE)) == 0

    finished = _finish(client, _sms_code(NEW_MOBILE))

    assert finished.headers["Location"] == "/account/passkeys"
    user = db.session.scalar(select(User).where(User.mobile == NEW_MOBILE))
    assert user.display_name == "赵家长" and user.role == Role.GUARDIAN
    assert (
        db.session.scalar(select(GuardianLink).where(GuardianLink.guardian_id == user.id)).student_id
        == (school["child"])
    )
    assert (
        "赵" in client.get("/children/").get_data(as_text=True) or client.get("/children/").status_code == 200
    )
    assert sign_in(client.application.test_client(), NEW_MOBILE, NEW_PASSWORD).status_code == 302


def test_a_wrong_birth_date_sends_no_sms_and_counts_the_try(client, school):
    response = _start(client, school["code"], birth=date(2016, 3, 15))
    assert response.status_code == 400
    assert _texts_to(NEW_MOBILE) == []


def test_another_number_cannot_use_the_code(client, school):
    assert _start(client, school["code"], mobile="13955552222").status_code == 400
    assert _texts_to("13955552222") == []


def test_a_wrong_or_reused_sms_code_creates_nothing(client, school):
    _start(client, school["code"])
    code = _sms_code(NEW_MOBILE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert _finish(client, wrong).status_code == 400
    assert db.session.scalar(select(User).where(User.mobile == NEW_MOBILE)) is None
    assert _finish(client, code).status_code == 302
    other = client.application.test_client()
    with client.session_transaction() as session:
        pending = dict(session.get("first_sign_in", {"mobile": NEW_MOBILE, "code": 0}))
    with other.session_transaction() as session:
        session["first_sign_in"] = pending or {"mobile": NEW_MOBILE, "code": 0}
    assert _finish(other, code).status_code in (400, 409)  # single use


def test_five_wrong_sms_codes_void_the_code(client, school):
    _start(client, school["code"])
    code = _sms_code(NEW_MOBILE)
    for attempt in range(5):
        _finish(client, f"{(int(code) + attempt + 1) % 1_000_000:06d}")
    assert _finish(client, code).status_code == 400


def test_forgotten_password_by_sms_code(client, school):
    response = post_form(client, "/password/forgot", {"mobile": "13955553333"})
    assert response.headers["Location"] == "/password/reset"
    assert SAME_ANSWER in client.get("/password/reset").get_data(as_text=True)
    code = _sms_code("13955553333")
    elsewhere = client.application.test_client()
    sign_in(elsewhere, "13955553333")

    reset = post_form(
        client,
        "/password/reset",
        {"sms_code": code, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD},
    )

    assert reset.headers["Location"] == "/sign-in"
    assert sign_in(client, "13955553333", NEW_PASSWORD).status_code == 302
    assert sign_in(client.application.test_client(), "13955553333", PASSWORD).status_code == 401
    assert elsewhere.get("/children/").status_code == 302  # every session ended
    with client.session_transaction() as session:
        session["password_reset_mobile"] = "13955553333"  # back on the form with the same code
    again = post_form(
        client,
        "/password/reset",
        {"sms_code": code, "new_password": "another fine phrase", "repeat_password": "another fine phrase"},
    )
    assert again.status_code == 400 and "短信验证码不正确或已失效" in again.get_data(as_text=True)
    assert sign_in(client.application.test_client(), "13955553333", NEW_PASSWORD).status_code == 302


def test_the_answer_is_the_same_for_a_number_without_an_account(client, school):
    known = post_form(client, "/password/forgot", {"mobile": "13955553333"})
    unknown_client = client.application.test_client()
    unknown = post_form(unknown_client, "/password/forgot", {"mobile": "13955550000"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert SAME_ANSWER in unknown_client.get("/password/reset").get_data(as_text=True)
    assert _texts_to("13955550000") == []
    assert len(_texts_to("13955553333")) == 1


def test_reset_codes_are_rate_limited_per_number(client, school):
    statuses = [
        post_form(client.application.test_client(), "/password/forgot", {"mobile": "13955553333"}).status_code
        for _ in range(4)
    ]
    assert statuses == [302, 302, 302, 429]


def test_the_sms_carries_only_the_code(client, school):
    post_form(client, "/password/forgot", {"mobile": "13955553333"})
    body = db.session.scalar(select(OutboxMessage.body))
    assert re.search(r"\d{6}", body) and "13955553333" not in body


# --- Signing up with a passkey and no password ---------------------------------------------


def _json(client, path: str, body: dict | None = None):
    return client.post(path, json=body or {}, headers={"X-CSRFToken": csrf_token(client, "/first-sign-in")})


def _prove_for_passkey(client, sms_code: str):
    return post_form(client, "/first-sign-in/verify", {"sms_code": sms_code, "way_in": "passkey"})


def _sign_up_with_passkey(client, authenticator, name: str = "我的手机"):
    options = _json(client, "/first-sign-in/passkey/options").get_json()
    assert options["authenticatorSelection"]["userVerification"] == "required"
    return _json(
        client, "/first-sign-in/passkey", {"credential": authenticator.create(options), "name": name}
    )


def _new_user():
    return db.session.scalar(select(User).where(User.mobile == NEW_MOBILE))


def test_a_new_guardian_signs_up_with_a_passkey_and_no_password(client, school):
    authenticator = SoftAuthenticator()
    _start(client, school["code"])
    proven = _prove_for_passkey(client, _sms_code(NEW_MOBILE))
    assert proven.headers["Location"] == "/first-sign-in/passkey"
    assert _new_user() is None  # no passkey yet, no account yet
    assert "添加通行密钥并创建账号" in client.get("/first-sign-in/passkey").get_data(as_text=True)

    finished = _sign_up_with_passkey(client, authenticator)

    assert finished.status_code == 200, finished.get_json()
    user = _new_user()
    assert user.password_hash is None and user.display_name == "赵家长"
    assert (
        db.session.scalar(select(GuardianLink.student_id).where(GuardianLink.guardian_id == user.id))
        == (school["child"])
    )
    passkey = db.session.scalar(select(Passkey).where(Passkey.user_id == user.id))
    assert passkey.name == "我的手机"
    assert client.get("/account").status_code == 200  # signed in
    # Signed out, the passkey alone signs in again.
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/account")})
    options = _json(client, "/sign-in/passkey/options").get_json()
    again = _json(client, "/sign-in/passkey", {"credential": authenticator.get(options)})
    assert again.status_code == 200, again.get_json()


def test_the_passkey_page_needs_a_proven_sms_code(client, school):
    _start(client, school["code"])
    assert client.get("/first-sign-in/passkey").headers["Location"] == "/first-sign-in"
    assert _json(client, "/first-sign-in/passkey/options").status_code == 401
    wrong = _prove_for_passkey(client, "000000" if _sms_code(NEW_MOBILE) != "000000" else "111111")
    assert wrong.status_code == 400 and "短信验证码不正确或已失效" in wrong.get_data(as_text=True)
    assert _json(client, "/first-sign-in/passkey/options").status_code == 401
    assert _new_user() is None


def test_a_passkey_without_user_verification_creates_no_account(client, school):
    _start(client, school["code"])
    _prove_for_passkey(client, _sms_code(NEW_MOBILE))

    no_verification = SoftAuthenticator()
    no_verification.user_verified = False
    refused = _sign_up_with_passkey(client, no_verification)

    assert refused.status_code == 400
    assert _new_user() is None
    assert db.session.scalar(select(func.count()).select_from(GuardianLink)) == 0


def test_a_sign_up_challenge_answers_once(client, school):
    authenticator = SoftAuthenticator()
    _start(client, school["code"])
    _prove_for_passkey(client, _sms_code(NEW_MOBILE))
    options = _json(client, "/first-sign-in/passkey/options").get_json()
    answer = authenticator.create(options)
    with client.session_transaction() as saved:
        challenge_id = saved["webauthn_challenge"]
    assert _json(client, "/first-sign-in/passkey", {"credential": answer}).status_code == 200

    # Replayed from a second browser holding the same proof and challenge id: the challenge is gone.
    other = client.application.test_client()
    with client.session_transaction() as first, other.session_transaction() as second:
        second.update(first)
        second["first_sign_in"] = {
            "mobile": NEW_MOBILE,
            "code": 0,
            "proven_at": "2999-01-01T00:00:00+00:00",
            "handle": "00" * 32,
        }
        second["webauthn_challenge"] = challenge_id
    replay = other.post(
        "/first-sign-in/passkey",
        json={"credential": answer},
        headers={"X-CSRFToken": csrf_token(other, "/first-sign-in")},
    )
    assert replay.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(User).where(User.mobile == NEW_MOBILE)) == 1


def _passwordless_guardian(client, school) -> SoftAuthenticator:
    authenticator = SoftAuthenticator()
    _start(client, school["code"])
    _prove_for_passkey(client, _sms_code(NEW_MOBILE))
    assert _sign_up_with_passkey(client, authenticator).status_code == 200
    return authenticator


def test_a_password_less_account_refuses_password_sign_in_like_an_unknown_number(client, school, app):
    _passwordless_guardian(client, school)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/account")})
    fresh = app.test_client()
    no_account = sign_in(fresh, "13900001111", "anything at all")
    password_less = sign_in(fresh, NEW_MOBILE, "anything at all")
    assert password_less.status_code == no_account.status_code == 401
    assert "登录名或密码错误。" in password_less.get_data(as_text=True)
    assert "登录名或密码错误。" in no_account.get_data(as_text=True)


def test_a_password_less_guardian_sets_a_first_password_by_sms(client, school, app):
    _passwordless_guardian(client, school)
    fresh = app.test_client()
    post_form(fresh, "/password/forgot", {"mobile": NEW_MOBILE})
    reset = post_form(
        fresh,
        "/password/reset",
        {"sms_code": _sms_code(NEW_MOBILE), "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD},
    )
    assert reset.headers["Location"] == "/sign-in"
    assert _new_user().password_hash is not None
    assert sign_in(fresh, NEW_MOBILE, NEW_PASSWORD).status_code == 302


def test_the_last_passkey_of_a_password_less_account_cannot_be_removed(client, school):
    _passwordless_guardian(client, school)
    passkey = db.session.scalar(select(Passkey).where(Passkey.user_id == _new_user().id))

    refused = post_form(client, f"/account/passkeys/{passkey.id}/remove", {}, form_page="/account/passkeys")

    assert refused.status_code == 409
    assert "没有密码" in refused.get_data(as_text=True)
    assert db.session.get(Passkey, passkey.id) is not None
