"""Signing in and out: rate limit, sealing idle staff accounts (M-24), audit, no account oracle."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import Role, User
from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.factories import make_guardian, make_staff, make_tree
from tests.functional.conftest import post_form, sign_in

GUARDIAN_MOBILE = "13912345678"
STAFF_LOGIN = "reg.accounts"

TOO_MANY = "尝试次数过多，请稍等一分钟后再试。"
WRONG = "登录名或密码错误。"
SEALED = "该账号已连续六个月未使用，已被封存。请联系管理员重新启用。"


@pytest.fixture
def people(app):
    tree = make_tree()
    guardian = make_guardian(GUARDIAN_MOBILE, "陈家长")
    staff = make_staff(Role.SCHOOL_REGISTRAR, tree.school, STAFF_LOGIN)
    db.session.commit()
    return {"guardian": guardian.id, "staff": staff.id}


def _user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def _events(tag: str, actor_id=None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.tag == tag)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def _set_last_sign_in(
    user_id: int, ago: timedelta | None, *, created_ago: timedelta | None = None, active: bool = True
) -> None:
    user = db.session.get(User, user_id)
    user.last_sign_in_at = None if ago is None else clock.now() - ago
    if created_ago is not None:
        user.created_at = clock.now() - created_ago
    user.is_active_account = active
    db.session.commit()


def _is_signed_in(client) -> bool:
    response = client.get("/children/")
    if response.status_code == 302:
        assert "/sign-in" in response.headers["Location"]
        return False
    # Staff are refused guardian pages but are signed in.
    return response.status_code in (200, 403)


# --- Rate limit -----------------------------------------------------------------------------


def test_the_eleventh_sign_in_post_in_a_minute_is_refused_with_429(client, people):
    for attempt in range(10):
        response = sign_in(client, GUARDIAN_MOBILE, f"wrong password {attempt}")
        assert response.status_code == 401, attempt
    response = sign_in(client, GUARDIAN_MOBILE, "wrong password 10")
    assert response.status_code == 429
    assert TOO_MANY in response.get_data(as_text=True)


def test_the_limit_holds_even_for_the_right_password(client, people):
    for attempt in range(10):
        sign_in(client, "13700000000", f"guess {attempt}")
    response = sign_in(client, GUARDIAN_MOBILE)
    assert response.status_code == 429
    assert TOO_MANY in response.get_data(as_text=True)
    assert not _is_signed_in(client)
    assert _events("account:signed_in", people["guardian"]) == []
    assert _user(people["guardian"]).last_sign_in_at is None


def test_reading_the_sign_in_page_is_not_limited(client, people):
    for _ in range(12):
        assert client.get("/sign-in").status_code == 200
    assert sign_in(client, GUARDIAN_MOBILE).status_code == 302


# --- Sealing idle staff accounts (M-24) -----------------------------------------------------


def test_an_idle_staff_account_is_sealed_on_the_next_correct_sign_in(client, people):
    long_ago = timedelta(days=200)
    _set_last_sign_in(people["staff"], long_ago)
    before = _user(people["staff"]).last_sign_in_at

    response = sign_in(client, STAFF_LOGIN)

    assert response.status_code == 403
    assert SEALED in response.get_data(as_text=True)
    user = _user(people["staff"])
    # The refusal changed the account and that change was committed (keep_bookkeeping):
    # a rolled-back request would have left the account active.
    assert user.is_active_account is False
    assert user.last_sign_in_at == before
    assert not _is_signed_in(client)
    assert _events("account:signed_in", people["staff"]) == []


def test_a_staff_account_never_signed_in_for_six_months_is_sealed_too(client, people):
    _set_last_sign_in(people["staff"], None, created_ago=timedelta(days=400))
    response = sign_in(client, STAFF_LOGIN)
    assert response.status_code == 403
    assert _user(people["staff"]).is_active_account is False


def test_a_sealed_account_stays_sealed_and_cannot_sign_in_with_the_right_password(client, people):
    _set_last_sign_in(people["staff"], timedelta(days=200))
    assert sign_in(client, STAFF_LOGIN).status_code == 403
    for _ in range(2):
        response = sign_in(client, STAFF_LOGIN)
        assert response.status_code == 403
        assert SEALED in response.get_data(as_text=True)
        assert _user(people["staff"]).is_active_account is False
    assert not _is_signed_in(client)
    assert client.get("/staff/students").status_code == 302


def test_a_sealed_account_with_a_recent_sign_in_is_still_refused(client, people):
    _set_last_sign_in(people["staff"], timedelta(days=1), active=False)
    response = sign_in(client, STAFF_LOGIN)
    assert response.status_code == 403
    assert SEALED in response.get_data(as_text=True)
    assert _user(people["staff"]).is_active_account is False
    assert client.get("/staff/students").status_code == 302


def test_a_wrong_password_on_an_idle_account_neither_seals_nor_reveals_it(client, people):
    _set_last_sign_in(people["staff"], timedelta(days=200))
    response = sign_in(client, STAFF_LOGIN, "wrong password")
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert WRONG in body and SEALED not in body
    assert _user(people["staff"]).is_active_account is True


def test_a_recently_used_staff_account_signs_in_and_the_time_is_recorded(client, people):
    _set_last_sign_in(people["staff"], timedelta(days=150))
    response = sign_in(client, STAFF_LOGIN)
    assert response.status_code == 302
    user = _user(people["staff"])
    assert user.is_active_account is True
    assert clock.now() - clock.aware(user.last_sign_in_at) < timedelta(minutes=5)


def test_guardian_accounts_are_not_sealed_for_idleness(client, people):
    # M-24 seals unused accounts of the registry system's staff, not families' accounts.
    _set_last_sign_in(people["guardian"], timedelta(days=400))
    assert sign_in(client, GUARDIAN_MOBILE).status_code == 302
    assert _user(people["guardian"]).is_active_account is True


def test_a_live_session_ends_when_the_account_is_sealed(client, people):
    assert sign_in(client, STAFF_LOGIN).status_code == 302
    assert client.get("/staff/students").status_code == 200
    _set_last_sign_in(people["staff"], timedelta(days=1), active=False)
    response = client.get("/staff/students")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_sealing_and_refused_attempts_on_sealed_accounts_are_audited(client, people):
    _set_last_sign_in(people["staff"], timedelta(days=200))
    assert sign_in(client, STAFF_LOGIN).status_code == 403
    assert sign_in(client, STAFF_LOGIN).status_code == 403
    events = db.session.scalars(select(AuditEvent.tag).where(AuditEvent.actor_id == people["staff"])).all()
    assert len(events) >= 2, events


# --- Guardian sign-in by mobile number ------------------------------------------------------


@pytest.mark.parametrize(
    "login",
    [
        "13912345678",
        "+86 139 1234 5678",
        "+8613912345678",
        "8613912345678",
        " 13912345678 ",
    ],
)
def test_guardians_sign_in_with_the_mobile_number_as_people_type_it(client, people, login):
    response = sign_in(client, login)
    assert response.status_code == 302, login
    assert client.get("/children/").status_code == 200
    assert _events("account:signed_in", people["guardian"])


@pytest.mark.parametrize("login", ["139 1234 5678", "139-1234-5678", "１３９１２３４５６７８"])
def test_guardians_sign_in_with_spaced_dashed_or_full_width_numbers(client, people, login):
    response = sign_in(client, login)
    assert response.status_code == 302, login


# --- Sign-out -------------------------------------------------------------------------------


def test_sign_out_ends_the_session(client, people):
    assert sign_in(client, GUARDIAN_MOBILE).status_code == 302
    assert client.get("/children/").status_code == 200
    response = post_form(client, "/sign-out", {}, form_page="/children/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    after = client.get("/children/")
    assert after.status_code == 302 and "/sign-in" in after.headers["Location"]
    assert client.get("/api/v1/me/children").status_code == 401
    assert len(_events("account:signed_out", people["guardian"])) == 1


def test_sign_out_needs_the_csrf_token(client, people):
    sign_in(client, GUARDIAN_MOBILE)
    response = client.post("/sign-out")
    assert response.status_code == 400
    assert client.get("/children/").status_code == 200
    assert _events("account:signed_out", people["guardian"]) == []


def test_sign_out_is_post_only(client, people):
    sign_in(client, GUARDIAN_MOBILE)
    assert client.get("/sign-out").status_code == 405
    assert client.get("/children/").status_code == 200


def test_a_session_cookie_copied_before_sign_out_no_longer_works(client, people):
    sign_in(client, GUARDIAN_MOBILE)
    copied = client.get_cookie("session").value
    post_form(client, "/sign-out", {}, form_page="/children/")
    client.set_cookie("session", copied)
    response = client.get("/children/")
    assert response.status_code == 302


# --- Audit trail ----------------------------------------------------------------------------


def test_sign_ins_and_failures_are_in_the_audit_trail(client, people):
    assert sign_in(client, GUARDIAN_MOBILE, "wrong password").status_code == 401
    assert sign_in(client, "13700009999", "whatever pw").status_code == 401
    assert sign_in(client, GUARDIAN_MOBILE).status_code == 302

    failed = _events("account:sign_in_failed")
    # Kept although both requests were refused and rolled back otherwise.
    assert [event.actor_id for event in failed] == [people["guardian"], None]
    signed_in = _events("account:signed_in")
    assert [event.actor_id for event in signed_in] == [people["guardian"]]
    assert signed_in[0].ip_address == "127.0.0.1"
    for event in failed + signed_in:
        # The audit trail says who, never the personal data typed in.
        assert "13700009999" not in str(event.data) and GUARDIAN_MOBILE not in str(event.data)


def test_a_failed_staff_sign_in_is_recorded_against_the_account(client, people):
    sign_in(client, STAFF_LOGIN, "wrong password")
    assert len(_events("account:sign_in_failed", people["staff"])) == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == "account:signed_in")
        )
        == 0
    )


# --- The refusal tells nothing about which accounts exist -----------------------------------

_TOKEN = re.compile(r'name="csrf_token" value="[^"]+"')
_LOGIN_ECHO = re.compile(r'(<input id="login" name="login" type="text" value=")[^"]*(")')


def _comparable(response) -> str:
    body = _TOKEN.sub('name="csrf_token" value=""', response.get_data(as_text=True))
    return _LOGIN_ECHO.sub(r"\1\2", body)


@pytest.mark.parametrize(
    ("unknown", "known"),
    [
        ("13700009999", GUARDIAN_MOBILE),
        ("nobody.here", STAFF_LOGIN),
    ],
)
def test_unknown_account_and_wrong_password_get_the_same_answer(client, people, unknown, known):
    missing = sign_in(client, unknown, "wrong password")
    wrong = sign_in(client, known, "wrong password")
    assert missing.status_code == wrong.status_code == 401
    assert WRONG in wrong.get_data(as_text=True)
    assert _comparable(missing) == _comparable(wrong)
    assert _LOGIN_ECHO.search(missing.get_data(as_text=True)), "the login field is echoed"


def test_staff_who_keep_working_on_one_device_are_not_sealed_on_another(app, people):
    """'Unused for six months' counts use, not sign-ins (M-24)."""
    device_one, device_two = app.test_client(), app.test_client()
    assert sign_in(device_one, STAFF_LOGIN).status_code == 302
    _set_last_sign_in(people["staff"], timedelta(days=200))
    user = db.session.get(User, people["staff"])
    user.last_seen_at = clock.now() - timedelta(days=2)  # and used since, on device one
    db.session.commit()
    assert device_one.get("/staff/students").status_code == 200
    assert clock.now() - clock.aware(db.session.get(User, people["staff"]).last_seen_at) < timedelta(
        minutes=1
    )
    assert sign_in(device_two, STAFF_LOGIN).status_code == 302
    assert db.session.get(User, people["staff"]).is_active_account
