"""A session that ends while a parent types: plain words, and back to the form after sign-in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.extensions import db
from tests.factories import PASSWORD, make_guardian
from tests.functional.conftest import csrf_token, sign_in

MOBILE = "13944443333"
ENDED = "您在提交表单前已退出登录，本次内容未保存。请重新登录，登录后将回到该表单。"


@pytest.fixture
def guardian(app):
    make_guardian(MOBILE)
    db.session.commit()


def _next_of(response) -> str:
    location = urlsplit(response.headers["Location"])
    assert location.path == "/sign-in"
    return parse_qs(location.query)["next"][0]


def test_a_form_sent_after_the_session_ended_leads_back_to_it_after_sign_in(client, guardian):
    sign_in(client, MOBILE)
    token = csrf_token(client, "/children/link")
    db.session.scalar(select(User).where(User.mobile == MOBILE)).end_all_sessions()  # signed out elsewhere
    db.session.commit()

    response = client.post(
        "/children/link", data={"code": "ABCD2345", "birth_date": "2016-03-14", "csrf_token": token}
    )

    assert response.status_code == 302 and _next_of(response) == "/children/link"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ENDED in page and 'name="next" value="/children/link"' in page
    signed_in = client.post(
        "/sign-in",
        data={
            "login": MOBILE,
            "password": PASSWORD,
            "next": "/children/link",
            "csrf_token": csrf_token(client, "/sign-in"),
        },
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/children/link"


def test_a_form_sent_without_any_session_is_not_a_technical_error(client, guardian):
    """The cookie is gone (browser restarted): the form token went with it."""
    response = client.post("/children/link", data={"code": "ABCD2345", "birth_date": "2016-03-14"})
    assert response.status_code == 302 and _next_of(response) == "/children/link"
    assert ENDED in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_page_opened_while_signed_out_is_reached_after_sign_in(client, guardian):
    response = client.get("/children/link")
    assert _next_of(response) == "/children/link"
    signed_in = client.post(
        "/sign-in",
        data={
            "login": MOBILE,
            "password": PASSWORD,
            "next": "/children/link",
            "csrf_token": csrf_token(client, "/sign-in"),
        },
    )
    assert signed_in.headers["Location"] == "/children/link"


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\t/evil.example", "javascript:x"]
)
def test_next_never_leaves_the_site(client, guardian, target):
    signed_in = client.post(
        "/sign-in",
        data={
            "login": MOBILE,
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_token(client, "/sign-in"),
        },
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"


def test_an_api_call_without_a_session_is_still_a_401_problem(client):
    response = client.post("/api/v1/me/children")
    assert response.status_code in (401, 405)
    assert response.mimetype == "application/problem+json"
