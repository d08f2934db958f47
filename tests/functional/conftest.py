"""Flows through the Flask test client, with CSRF protection switched on as in production."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict, *, form_page: str | None = None):
    """Post like a browser: fetch the form page for its token first."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token})


def sign_in(client, login: str, password: str = PASSWORD):
    return post_form(client, "/sign-in", {"login": login, "password": password})


@pytest.fixture
def english(client):
    client.set_cookie("lang", "en")
    return client
