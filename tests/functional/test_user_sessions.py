"""Seeing and ending one's own sessions; signing out everywhere; the loader's one lookup."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from portal.accounts.models import UserSession
from portal.extensions import db
from tests.factories import make_guardian
from tests.functional.conftest import csrf_token, post_form, sign_in

MOBILE = "13966665555"
PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36"
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"


@pytest.fixture
def two_devices(app):
    make_guardian(MOBILE)
    db.session.commit()
    phone, laptop = app.test_client(), app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = PHONE
    laptop.environ_base["HTTP_USER_AGENT"] = LAPTOP
    sign_in(phone, MOBILE)
    sign_in(laptop, MOBILE)
    return phone, laptop


def test_the_account_page_lists_both_devices(two_devices):
    phone, _ = two_devices
    page = phone.get("/account").get_data(as_text=True)
    assert "Android · Chrome" in page and "Windows · Chrome" in page
    assert page.count("data-session") == 2 and "本设备" in page


def test_ending_the_other_session_signs_that_device_out_only(two_devices):
    phone, laptop = two_devices
    laptop_key = db.session.scalar(select(UserSession.key).where(UserSession.device == "Windows · Chrome"))
    response = post_form(phone, f"/account/sessions/{laptop_key}/end", {}, form_page="/account")
    assert response.status_code == 302
    assert laptop.get("/children/").status_code == 302
    assert phone.get("/children/").status_code == 200


def test_someone_elses_session_cannot_be_ended(app, two_devices):
    phone, _ = two_devices
    make_guardian("13966664444")
    db.session.commit()
    other = app.test_client()
    sign_in(other, "13966664444")
    other_key = db.session.scalar(select(UserSession.key).order_by(UserSession.created_at.desc()))
    assert post_form(phone, f"/account/sessions/{other_key}/end", {}, form_page="/account").status_code == 404
    assert other.get("/children/").status_code == 200


def test_signing_out_everywhere_ends_every_session(two_devices):
    phone, laptop = two_devices
    response = post_form(phone, "/account/sessions/end-all", {}, form_page="/account")
    assert response.headers["Location"] == "/sign-in"
    assert phone.get("/children/").status_code == 302
    assert laptop.get("/children/").status_code == 302
    assert db.session.scalar(select(UserSession).where(UserSession.ended_at.is_(None))) is None


def test_signing_out_on_one_device_keeps_the_other(two_devices):
    phone, laptop = two_devices
    phone.post("/sign-out", data={"csrf_token": csrf_token(phone, "/children/")})
    assert phone.get("/children/").status_code == 302
    assert laptop.get("/children/").status_code == 200


def test_the_loader_is_one_query(app, two_devices):
    phone, _ = two_devices
    statements = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert phone.get("/children/").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    loader = [s for s in statements if "user_sessions" in s]
    assert len(loader) == 1, statements
    assert "JOIN users" in loader[0]
    # Nothing else reads the user's own row again.
    assert not [s for s in statements if "FROM users" in s and s not in loader], statements
