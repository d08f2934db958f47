"""Headers and cookies every page must carry."""

import pytest

from tests.functional.conftest import sign_in


def test_security_headers_forbid_third_party_content(client):
    response = client.get("/sign-in")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_httponly_and_lax(client, app):
    from portal.extensions import db
    from tests.factories import make_guardian

    make_guardian("13600000000")
    db.session.commit()
    response = sign_in(client, "13600000000")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_config_marks_cookies_secure(monkeypatch):
    from portal.config import Config

    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    config = Config()
    assert config.SESSION_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.SESSION_COOKIE_SAMESITE == "Lax"


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    import pytest

    from portal.config import Config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(RuntimeError):
        Config()


@pytest.mark.parametrize(("hops", "expected"), [(0, "10.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_is_taken_from_the_proxy_only_when_configured(database_url, hops, expected):
    from flask import request

    from portal import create_app
    from portal.config import config_for_tests

    app = create_app(config_for_tests(database_url, PROXY_HOPS=hops))
    app.add_url_rule("/_remote_addr", "remote_addr_probe", lambda: request.remote_addr)
    response = app.test_client().get(
        "/_remote_addr", headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    assert response.get_data(as_text=True) == expected


def test_https_deployments_send_hsts_and_local_development_does_not(database_url, client):
    from portal import create_app
    from portal.config import config_for_tests

    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = create_app(config_for_tests(database_url, SESSION_COOKIE_SECURE=True)).test_client()
    assert secure.get("/healthz").headers["Strict-Transport-Security"] == "max-age=31536000"
