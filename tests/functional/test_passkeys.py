"""Passkeys through the test client, with a software authenticator: every server check for real."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Passkey, Role, WebAuthnChallenge
from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.factories import make_guardian, make_staff, make_tree
from tests.functional.conftest import csrf_token, sign_in
from tests.soft_authenticator import SoftAuthenticator

MOBILE = "13933332222"


@pytest.fixture
def people(app):
    tree = make_tree()
    make_guardian(MOBILE)
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "pk.county")
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "pk.school")
    db.session.commit()


@pytest.fixture
def passkeys_required(app):
    app.config["STAFF_PASSKEY_REQUIRED"] = True
    yield
    app.config["STAFF_PASSKEY_REQUIRED"] = False


def _post_json(client, path: str, body: dict | None = None, page: str = "/sign-in"):
    return client.post(path, json=body or {}, headers={"X-CSRFToken": csrf_token(client, page)})


def _register(client, authenticator: SoftAuthenticator, name: str = "手机", page: str = "/account/passkeys"):
    options = _post_json(client, "/account/passkeys/options", page=page).get_json()
    return _post_json(
        client, "/account/passkeys", {"credential": authenticator.create(options), "name": name}, page
    )


def _passkey_sign_in(client, authenticator: SoftAuthenticator, **kwargs):
    options = _post_json(client, "/sign-in/passkey/options").get_json()
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    return _post_json(client, "/sign-in/passkey", {"credential": authenticator.get(options, **kwargs)})


def _events(tag: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.tag == tag)))


def test_a_guardian_adds_a_passkey_and_signs_in_with_it_alone(client, app, people):
    authenticator = SoftAuthenticator()
    sign_in(client, MOBILE)
    response = _register(client, authenticator)
    assert response.status_code == 200 and response.get_json() == {"redirect": "/account/passkeys"}
    assert "手机" in client.get("/account/passkeys").get_data(as_text=True)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/children/")})

    signed_in = _passkey_sign_in(client, authenticator)

    assert signed_in.status_code == 200 and signed_in.get_json() == {"redirect": "/children/"}
    assert client.get("/children/").status_code == 200
    assert db.session.scalar(select(Passkey.sign_count)) == 1
    assert [e.data["method"] for e in _events("account:signed_in")] == ["password", "passkey"]


def test_a_challenge_answers_once(client, people):
    authenticator = SoftAuthenticator()
    sign_in(client, MOBILE)
    _register(client, authenticator)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/children/")})
    options = _post_json(client, "/sign-in/passkey/options").get_json()
    answer = authenticator.get(options)
    assert _post_json(client, "/sign-in/passkey", {"credential": answer}).status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/children/")})

    _post_json(client, "/sign-in/passkey/options")  # a new challenge in the session
    replayed = _post_json(client, "/sign-in/passkey", {"credential": answer})

    assert replayed.status_code in (400, 401)
    assert client.get("/children/").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(WebAuthnChallenge)) == 0  # all used up


def test_without_user_verification_sign_in_is_refused(client, people):
    authenticator = SoftAuthenticator()
    sign_in(client, MOBILE)
    _register(client, authenticator)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/children/")})
    authenticator.user_verified = False
    response = _passkey_sign_in(client, authenticator)
    assert response.status_code == 401 and response.get_json()["code"] == "passkey.refused"
    assert client.get("/children/").status_code == 302


def test_a_passkey_without_user_verification_cannot_be_added(client, people):
    authenticator = SoftAuthenticator()
    authenticator.user_verified = False
    sign_in(client, MOBILE)
    assert _register(client, authenticator).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Passkey)) == 0


def test_a_sign_count_that_does_not_grow_betrays_a_clone(client, people):
    authenticator = SoftAuthenticator()
    sign_in(client, MOBILE)
    _register(client, authenticator)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/children/")})
    assert _passkey_sign_in(client, authenticator).status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/children/")})

    cloned = _passkey_sign_in(client, authenticator, count_up=False)

    assert cloned.status_code == 401
    assert len(_events("passkey:sign_in_failed")) == 1


def test_an_unknown_passkey_is_refused(client, people):
    response = _passkey_sign_in(client, SoftAuthenticator())
    assert response.status_code == 401


def test_a_passkey_from_another_site_is_refused(client, people):
    authenticator = SoftAuthenticator()
    sign_in(client, MOBILE)
    _register(client, authenticator)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/children/")})
    authenticator.origin = "http://evil.example"
    assert _passkey_sign_in(client, authenticator).status_code == 401


def test_county_staff_enrol_after_their_password_then_a_password_alone_is_refused(
    client, people, passkeys_required
):
    response = sign_in(client, "pk.county")
    assert response.headers["Location"] == "/account/passkeys/enrol"
    assert client.get("/staff/students").status_code == 302  # not signed in yet
    assert len(_events("passkey:enrolment_opened")) == 1

    registered = _register(client, SoftAuthenticator(), page="/account/passkeys/enrol")

    assert registered.get_json() == {"redirect": "/staff/students"}
    assert client.get("/staff/students").status_code == 200
    added = _events("passkey:added")
    assert len(added) == 1 and added[0].data["first_enrolment"] is True
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/staff/students")})

    refused = sign_in(client, "pk.county")
    assert refused.status_code == 403 and "使用通行密钥登录" in refused.get_data(as_text=True)
    assert client.get("/staff/students").status_code == 302


def test_the_enrolment_window_closes(client, app, people, passkeys_required):
    sign_in(client, "pk.county")
    app.config["PASSKEY_ENROLMENT_WINDOW"] = 0
    try:
        time.sleep(1.1)
        response = _post_json(client, "/account/passkeys/options", page="/sign-in")
    finally:
        app.config["PASSKEY_ENROLMENT_WINDOW"] = 15 * 60
    assert response.status_code == 401


def test_a_school_registrar_may_still_use_a_password(client, people, passkeys_required):
    assert sign_in(client, "pk.school").headers["Location"] == "/staff/students"


def test_the_only_passkey_of_county_staff_cannot_be_removed(client, people, passkeys_required):
    sign_in(client, "pk.county")
    _register(client, SoftAuthenticator(), page="/account/passkeys/enrol")
    passkey_id = db.session.scalar(select(Passkey.id))
    response = client.post(
        f"/account/passkeys/{passkey_id}/remove", data={"csrf_token": csrf_token(client, "/account/passkeys")}
    )
    assert response.status_code == 409
    assert db.session.get(Passkey, passkey_id) is not None


def test_renaming_and_removing_need_a_recent_sign_in(client, app, people):
    sign_in(client, MOBILE)
    _register(client, SoftAuthenticator())
    passkey_id = db.session.scalar(select(Passkey.id))
    token = csrf_token(client, "/account/passkeys")
    app.config["RECENT_SIGN_IN_MAX_AGE"] = -1
    try:
        stale = client.post(f"/account/passkeys/{passkey_id}/remove", data={"csrf_token": token})
    finally:
        app.config["RECENT_SIGN_IN_MAX_AGE"] = 600
    assert stale.status_code == 302 and "/sign-in?next=" in stale.headers["Location"]
    assert db.session.get(Passkey, passkey_id) is not None

    renamed = client.post(
        f"/account/passkeys/{passkey_id}/rename", data={"csrf_token": token, "name": "平板"}
    )
    assert renamed.status_code == 302
    assert db.session.get(Passkey, passkey_id).name == "平板"
    removed = client.post(f"/account/passkeys/{passkey_id}/remove", data={"csrf_token": token})
    assert removed.status_code == 302 and db.session.get(Passkey, passkey_id) is None


def test_someone_elses_passkey_is_not_found(client, people):
    sign_in(client, MOBILE)
    _register(client, SoftAuthenticator())
    passkey_id = db.session.scalar(select(Passkey.id))
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/children/")})
    sign_in(client, "pk.school")
    response = client.post(
        f"/account/passkeys/{passkey_id}/remove", data={"csrf_token": csrf_token(client, "/account/passkeys")}
    )
    assert response.status_code == 404
