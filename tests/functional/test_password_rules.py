"""Password rules: weak ones refused, changing one's own, staff expiry per province (M-24)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role, User
from portal.accounts.passwords import weakness
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.provinces.rules import password_max_age_days
from tests.factories import PASSWORD, make_guardian, make_staff, make_tree
from tests.functional.conftest import csrf_token, post_form, sign_in

MOBILE = "13977776666"
NEW = "a brand new phrase"


@pytest.mark.parametrize(
    ("password", "staff", "why"),
    [
        ("short", False, "short"),
        ("123456789", False, "common"),
        ("Password2026!", False, "common"),
        ("qwerty123", True, "short"),
        ("Woaini1314!!", False, "common"),
        ("aaaaaaaaaaaa", True, "common"),
        ("my13977776666", False, "personal"),
        ("correct horse battery", True, None),
    ],
)
def test_weak_passwords_are_recognised_without_any_network(password, staff, why):
    assert weakness(password, is_staff=staff, personal=(MOBILE,)) == why


@pytest.fixture
def people(app):
    tree = make_tree()
    make_guardian(MOBILE)
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "pw.school")
    make_staff(Role.PROVINCE_ADMIN, tree.province, "pw.province")
    db.session.commit()
    return {"province": tree.province.id}


def _change(client, current=PASSWORD, new=NEW, repeated=None):
    return post_form(
        client,
        "/account/password",
        {"current_password": current, "new_password": new, "repeat_password": repeated or new},
        form_page="/account",
    )


def test_a_guardian_changes_the_password_and_other_sessions_end(client, app, people):
    elsewhere = app.test_client()
    sign_in(elsewhere, MOBILE)
    sign_in(client, MOBILE)
    response = _change(client)
    assert response.status_code == 302
    assert "密码已修改" in client.get("/account").get_data(as_text=True)
    assert client.get("/children/").status_code == 200  # this session goes on
    assert elsewhere.get("/children/").status_code == 302  # the other one ended
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/children/")})
    assert sign_in(client, MOBILE, NEW).headers["Location"] == "/children/"
    assert sign_in(app.test_client(), MOBILE, PASSWORD).status_code == 401


@pytest.mark.parametrize(
    ("current", "new", "repeated", "message"),
    [
        ("wrong password", NEW, NEW, "当前密码不正确"),
        (PASSWORD, NEW, "something else", "两次输入的新密码不一致"),
        (PASSWORD, "password123", "password123", "该密码过于常见"),
        (PASSWORD, "1234567", "1234567", "至少需要"),
    ],
)
def test_a_refused_change_keeps_the_old_password(client, people, current, new, repeated, message):
    sign_in(client, MOBILE)
    response = _change(client, current, new, repeated)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert sign_in(client, MOBILE, PASSWORD).status_code == 302


def _age_password(login: str, days: int) -> None:
    user = db.session.scalar(select(User).where(User.username == login))
    user.password_changed_at = clock.now() - timedelta(days=days)
    db.session.commit()


def test_an_expired_staff_password_must_be_changed_at_the_next_sign_in(client, people):
    _age_password("pw.school", 91)
    response = sign_in(client, "pw.school")
    assert response.headers["Location"] == "/account"
    assert client.get("/staff/students").headers["Location"] == "/account"  # nothing else opens
    assert "您的密码已过期" in client.get("/account").get_data(as_text=True)
    assert _change(client).status_code == 302
    assert client.get("/staff/students").status_code == 200
    tags = db.session.scalars(
        select(AuditEvent.tag).where(AuditEvent.tag.like("account:password%")).order_by(AuditEvent.id)
    ).all()
    assert tags == ["account:password_expired", "account:password_changed"]


def test_the_province_sets_the_period(client, people):
    _age_password("pw.school", 91)
    sign_in(client, "pw.province")
    response = post_form(
        client, "/admin/province/accounts", {"password_days": "180"}, form_page="/admin/province/settings"
    )
    assert response.status_code == 302 and password_max_age_days(people["province"]) == 180
    refused = post_form(
        client, "/admin/province/accounts", {"password_days": "5"}, form_page="/admin/province/settings"
    )
    assert refused.status_code == 400 and password_max_age_days(people["province"]) == 180
    assert sign_in(client, "pw.school").headers["Location"] == "/staff/students"  # 91 < 180 days


def test_guardian_passwords_do_not_expire(client, people):
    user = db.session.scalar(select(User).where(User.mobile == MOBILE))
    user.password_changed_at = clock.now() - timedelta(days=1000)
    db.session.commit()
    assert sign_in(client, MOBILE).headers["Location"] == "/children/"


def _session(app, client) -> dict:
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(client.get_cookie("session").value)


def test_signing_in_renews_the_session_and_its_csrf_secret(client, app, people):
    csrf_token(client, "/sign-in")
    with client.session_transaction() as planted:
        planted["planted"] = "before sign-in"  # what a fixated session carried must not survive
    before = _session(app, client)
    assert before["planted"]
    sign_in(client, MOBILE)
    csrf_token(client, "/account")
    after = _session(app, client)
    assert after["csrf_token"] != before["csrf_token"]
    assert "planted" not in after and after["_user_id"]
