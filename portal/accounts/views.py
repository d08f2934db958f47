"""Sign in, sign out, choose a language."""

from __future__ import annotations

import hashlib
import unicodedata

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal import forms
from portal.accounts import service
from portal.accounts import sessions as sessions_service
from portal.accounts.service import authenticate, must_enrol_passkey, password_expired
from portal.accounts.sessions import (
    end_current_session,
    end_every_session,
    open_enrolment,
    sessions_of,
    start_session,
)
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import DomainError
from portal.extensions import limiter
from portal.guardians.service import looks_like_mobile
from portal.security.permissions import Permission, requires
from portal.web import LANGUAGE_COOKIE, LANGUAGES, redirect_home, render_form_error, safe_next

blueprint = Blueprint("accounts", __name__)


@blueprint.get("/")
@requires(Permission.PUBLIC)
def index():
    if current_user.is_authenticated:
        return redirect_home()
    return redirect(url_for("accounts.sign_in"))


def _account_tried() -> str:
    """The throttling key of the account named in the form, whether or not it exists.

    Unknown names are counted exactly like real ones, so the limit tells nothing about which
    accounts exist; the key is a hash, so the shared store holds no mobile numbers.
    """
    login = forms.text("login", max_length=40).lower()
    if looks_like_mobile(login):
        digits = "".join(ch for ch in unicodedata.normalize("NFKC", login) if ch.isdigit())
        login = digits.removeprefix("86") if len(digits) == 13 else digits
    return "sign-in:" + hashlib.sha256(login.encode()).hexdigest()[:32]


@blueprint.route("/sign-in", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
# Per address (the default key) and per account; the counts live in RATELIMIT_STORAGE_URI,
# shared by every worker when that is Redis.
@limiter.limit(lambda: current_app.config["SIGN_IN_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit("10 per 10 minutes;50 per day", methods=["POST"], key_func=_account_tried)
def sign_in():
    next_page = request.values.get("next", "")
    if request.method == "GET":
        return render_template("accounts/sign_in.html", next_page=next_page)
    try:
        user = authenticate(forms.text("login", max_length=40), request.form.get("password", ""))
    except DomainError as error:
        return render_form_error(
            "accounts/sign_in.html", error, login=forms.text("login"), next_page=next_page
        )
    if must_enrol_passkey(user):
        open_enrolment(user)
        return redirect(url_for("passkeys.enrol"))
    start_session(user)
    if password_expired(user):
        record_event(AuditTag.ACCOUNT_PASSWORD_EXPIRED, actor=user)
        session[MUST_CHANGE_PASSWORD] = True
        flash(_("Your password has expired. Please choose a new one to continue."), "info")
        return redirect(url_for("accounts.account"))
    return redirect(safe_next(next_page)) if next_page else redirect_home()


MUST_CHANGE_PASSWORD = "must_change_password"
# What an account with an expired password may still open.
_OPEN_WHILE_EXPIRED = {
    "accounts.sign_out_everywhere",
    "accounts.account",
    "accounts.change_password",
    "accounts.sign_out",
    "static",
    "accounts.choose_language",
    "accounts.health",
}


@blueprint.before_app_request
def insist_on_a_new_password():
    """Until the expired password is changed, every page leads to the form (M-24)."""
    waiting = session.get(MUST_CHANGE_PASSWORD) and request.endpoint not in _OPEN_WHILE_EXPIRED
    if waiting and current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    return None


def _account_context() -> dict:
    return {"sessions": sessions_of(current_user), "current_key": current_user.session_key}


@blueprint.get("/account")
@requires(Permission.SIGNED_IN)
def account():
    return render_template("accounts/account.html", **_account_context())


@blueprint.post("/account/sessions/<key>/end")
@requires(Permission.SIGNED_IN)
def end_session(key: str):
    try:
        sessions_service.end_session(current_user, key[:32])
    except DomainError as error:
        return render_form_error("accounts/account.html", error, **_account_context())
    flash(_("That session was ended."), "success")
    return redirect(url_for("accounts.account"))


@blueprint.post("/account/sessions/end-all")
@requires(Permission.SIGNED_IN)
def sign_out_everywhere():
    user = current_user._get_current_object()
    end_every_session(user)
    record_event(AuditTag.ACCOUNT_SESSIONS_ENDED, actor=user, which="all")
    logout_user()
    flash(_("You were signed out everywhere, on this device too."), "success")
    return redirect(url_for("accounts.sign_in"))


@blueprint.post("/account/password")
@requires(Permission.SIGNED_IN)
@limiter.limit("10 per hour", methods=["POST"], key_func=lambda: f"user:{current_user.id}")
def change_password():
    user = current_user._get_current_object()
    try:
        service.change_password(
            user,
            request.form.get("current_password", ""),
            request.form.get("new_password", ""),
            request.form.get("repeat_password", ""),
        )
    except DomainError as error:
        return render_form_error("accounts/account.html", error, **_account_context())
    end_every_session(user)  # whoever knew the old password is signed out everywhere
    start_session(user)
    flash(_("Your password was changed. You were signed out everywhere else."), "success")
    return redirect(url_for("accounts.account"))


@blueprint.post("/sign-out")
@requires(Permission.SIGNED_IN)
def sign_out():
    record_event(AuditTag.ACCOUNT_SIGNED_OUT, actor=current_user)
    end_current_session(current_user)  # a copy of this cookie stops working; other devices stay
    logout_user()
    return redirect(url_for("accounts.sign_in"))


@blueprint.post("/language")
@requires(Permission.PUBLIC)
def choose_language():
    language = request.form.get("language", "")
    response = make_response(redirect(safe_next(request.form.get("next", ""))))
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response


@blueprint.get("/healthz")
@requires(Permission.PUBLIC)
def health():
    """A bare endpoint: liveness for the load balancer and the benchmark's baseline."""
    return "ok"
