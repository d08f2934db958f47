"""Sign in, sign out, choose a language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from portal import forms
from portal.accounts.service import authenticate
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import DomainError
from portal.extensions import limiter
from portal.security.permissions import Permission, requires
from portal.web import LANGUAGE_COOKIE, LANGUAGES, redirect_home, render_form_error

blueprint = Blueprint("accounts", __name__)


@blueprint.get("/")
@requires(Permission.PUBLIC)
def index():
    if current_user.is_authenticated:
        return redirect_home()
    return redirect(url_for("accounts.sign_in"))


@blueprint.route("/sign-in", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
@limiter.limit("10 per minute", methods=["POST"])
def sign_in():
    if request.method == "GET":
        return render_template("accounts/sign_in.html")
    try:
        user = authenticate(forms.text("login", max_length=40), request.form.get("password", ""))
    except DomainError as error:
        return render_form_error("accounts/sign_in.html", error, login=forms.text("login"))
    login_user(user)
    return redirect_home()


@blueprint.post("/sign-out")
@requires(Permission.SIGNED_IN)
def sign_out():
    record_event(AuditTag.ACCOUNT_SIGNED_OUT, actor=current_user)
    current_user.end_all_sessions()
    logout_user()
    return redirect(url_for("accounts.sign_in"))


@blueprint.post("/language")
@requires(Permission.PUBLIC)
def choose_language():
    language = request.form.get("language", "")
    response = make_response(redirect(_safe_next(request.form.get("next", ""))))
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response


def _safe_next(target: str) -> str:
    """Only a plain path on this site: never an open redirect."""
    # Browsers drop tabs and newlines inside URLs, so "/\t/evil.example" is "//evil.example".
    plain = target.isprintable() and not any(ch.isspace() or ch == "\\" for ch in target)
    parts = urlsplit(target)
    if plain and target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return url_for("accounts.index")


@blueprint.get("/healthz")
@requires(Permission.PUBLIC)
def health():
    """A bare endpoint: liveness for the load balancer and the benchmark's baseline."""
    return "ok"
