"""Pages for getting in by mobile number: first sign-in from the school's code, forgotten password."""

from __future__ import annotations

import hashlib
import secrets

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from portal import clock, forms
from portal.accounts import getting_in
from portal.accounts.passkey_views import (
    _CHALLENGE,
    _browser_answer,
    _options_response,
    _problem,
    relying_party,
)
from portal.accounts.service import note_sign_in
from portal.accounts.sessions import start_session
from portal.errors import DomainError, ValidationFailed
from portal.extensions import limiter
from portal.security.permissions import Permission, requires
from portal.web import home_url_for, render_form_error

blueprint = Blueprint("getting_in", __name__)

_FIRST = "first_sign_in"
_RESET = "password_reset_mobile"


def _number_tried() -> str:
    """Throttle per mobile number typed (hashed: the shared store holds no numbers)."""
    digits = "".join(ch for ch in request.form.get("mobile", "") if ch.isdigit())[-11:]
    return "mobile:" + hashlib.sha256(digits.encode()).hexdigest()[:32]


def _new_password() -> str:
    password = request.form.get("new_password", "")
    if password != request.form.get("repeat_password", ""):
        raise ValidationFailed("account.passwords_differ", _("The two new passwords differ."))
    return password


@blueprint.route("/first-sign-in", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=_number_tried)
def first_sign_in():
    if request.method == "GET":
        return render_template("accounts/first_sign_in.html")
    try:
        mobile = forms.text("mobile", max_length=20)
        code_id = getting_in.start_first_sign_in(
            mobile,
            forms.text("code", max_length=20),
            forms.date_field("birth_date", latest=clock.today()),
        )
    except DomainError as error:
        return render_form_error("accounts/first_sign_in.html", error)
    session[_FIRST] = {"mobile": mobile, "code": code_id}
    flash(_("We sent a six-digit code by SMS to your mobile number."), "info")
    return redirect(url_for("getting_in.first_sign_in_verify"))


@blueprint.route("/first-sign-in/verify", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
@limiter.limit("10 per 10 minutes", methods=["POST"])
def first_sign_in_verify():
    pending = session.get(_FIRST)
    if not pending:
        return redirect(url_for("getting_in.first_sign_in"))
    if request.method == "GET":
        return render_template("accounts/first_sign_in_verify.html")
    if request.form.get("way_in") == "passkey":
        return _prove_code_for_passkey(pending)
    try:
        user = getting_in.finish_first_sign_in(
            pending["mobile"], pending["code"], forms.text("sms_code", max_length=10), _new_password()
        )
    except DomainError as error:
        return render_form_error("accounts/first_sign_in_verify.html", error)
    start_session(user)
    flash(_("Welcome! Your account is ready and your child is linked."), "success")
    flash(_("Add a passkey now, and next time sign in with your fingerprint or face."), "info")
    return redirect(url_for("passkeys.manage"))


def _prove_code_for_passkey(pending: dict):
    try:
        getting_in.prove_first_sign_in_code(
            pending["mobile"], pending["code"], forms.text("sms_code", max_length=10)
        )
    except DomainError as error:
        return render_form_error("accounts/first_sign_in_verify.html", error)
    session[_FIRST] = pending | {"proven_at": clock.now().isoformat(), "handle": secrets.token_hex(32)}
    return redirect(url_for("getting_in.passkey_sign_up"))


def _proven_sign_up() -> dict | None:
    """The first sign-in whose SMS code was proven a short while ago in this browser, if any."""
    pending = session.get(_FIRST)
    if pending and getting_in.proof_is_fresh(pending.get("proven_at")):
        return pending
    return None


@blueprint.get("/first-sign-in/passkey")
@requires(Permission.PUBLIC)  # the proven SMS code, checked below
def passkey_sign_up():
    if _proven_sign_up() is None:
        flash(_("Please start again: confirm your number with a new SMS code."), "info")
        return redirect(url_for("getting_in.first_sign_in"))
    return render_template("accounts/first_sign_in_passkey.html")


@blueprint.post("/first-sign-in/passkey/options")
@requires(Permission.PUBLIC)  # as above
@limiter.limit("20 per minute")
def passkey_sign_up_options():
    pending = _proven_sign_up()
    if pending is None:
        return jsonify(code="request.unauthenticated"), 401
    try:
        challenge = getting_in.begin_passkey_sign_up(
            pending["mobile"], pending["code"], bytes.fromhex(pending["handle"]), relying_party()
        )
    except DomainError as error:
        return _problem(error)
    return _options_response(*challenge)


@blueprint.post("/first-sign-in/passkey")
@requires(Permission.PUBLIC)  # as above
@limiter.limit("10 per minute")
def passkey_sign_up_finish():
    pending = _proven_sign_up()
    if pending is None:
        return jsonify(code="request.unauthenticated"), 401
    try:
        credential, name = _browser_answer()
        user = getting_in.finish_passkey_sign_up(
            pending["mobile"],
            pending["code"],
            bytes.fromhex(pending["handle"]),
            session.pop(_CHALLENGE, None),
            credential,
            name,
            relying_party(),
        )
    except DomainError as error:
        return _problem(error)
    note_sign_in(user, "first_passkey")
    start_session(user, "passkey")  # clears the pending sign-up with the rest of the session
    flash(_("Welcome! Your account is ready and your child is linked."), "success")
    return jsonify(redirect=home_url_for(user))


@blueprint.route("/password/forgot", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
@limiter.limit("5 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_number_tried)
def forgot_password():
    if request.method == "GET":
        return render_template("accounts/forgot_password.html")
    mobile = forms.text("mobile", max_length=20)
    getting_in.request_password_reset(mobile)
    session[_RESET] = mobile
    # The same words whether or not the number has an account.
    flash(_("If this number has an account, a six-digit code is on its way by SMS."), "info")
    return redirect(url_for("getting_in.reset_password"))


@blueprint.route("/password/reset", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
@limiter.limit("10 per 10 minutes", methods=["POST"])
def reset_password():
    mobile = session.get(_RESET)
    if not mobile:
        return redirect(url_for("getting_in.forgot_password"))
    if request.method == "GET":
        return render_template("accounts/reset_password.html")
    try:
        getting_in.reset_password(mobile, forms.text("sms_code", max_length=10), _new_password())
    except DomainError as error:
        return render_form_error("accounts/reset_password.html", error)
    session.pop(_RESET, None)
    flash(_("Your new password is set. Please sign in with it."), "success")
    return redirect(url_for("accounts.sign_in"))
