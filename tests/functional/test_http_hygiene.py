"""Headers and cookies every page must carry."""

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
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.SESSION_COOKIE_SAMESITE == "Lax"


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    import pytest

    from portal.config import Config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(RuntimeError):
        Config()
