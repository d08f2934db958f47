"""The rate limiter checks a limit where it is declared, and skips the check before every
request only while there is nothing for that check to find."""

from __future__ import annotations

from flask import Flask
from flask_limiter.util import get_remote_address

from portal.extensions import ViewLimiter, limiter


def _app(**limits) -> tuple[Flask, ViewLimiter]:
    app = Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    view_limiter = ViewLimiter(key_func=get_remote_address, app=app, **limits)

    @app.get("/open")
    def open_page():
        return "open"

    @app.get("/limited")
    @view_limiter.limit("2 per minute")
    def limited_page():
        return "limited"

    return app, view_limiter


def test_the_portal_declares_every_limit_on_a_view(app):
    assert not limiter.has_limits_beyond_views()


def test_a_limit_on_a_view_still_holds():
    app, _ = _app()
    client = app.test_client()
    assert [client.get("/limited").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/open").status_code == 200


def test_a_default_limit_is_checked_before_every_request():
    app, view_limiter = _app(default_limits=["1 per minute"])
    client = app.test_client()
    assert view_limiter.has_limits_beyond_views()
    assert [client.get("/open").status_code for _ in range(2)] == [200, 429]


def test_an_application_wide_limit_is_checked_too():
    app, _ = _app(application_limits=["1 per minute"])
    client = app.test_client()
    assert [client.get("/open").status_code for _ in range(2)] == [200, 429]
