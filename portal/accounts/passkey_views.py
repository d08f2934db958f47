"""Passkey pages: manage them, enrol the first one (staff), sign in with one.

The ceremonies run in static/passkeys.js (no inline script): it fetches options as JSON,
asks the browser, and posts the browser's answer back as JSON with the CSRF token in a header.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import forms
from portal.accounts import passkeys
from portal.accounts.service import check_can_sign_in, note_sign_in, passkey_only
from portal.accounts.sessions import close_enrolment, enrolling_user, require_recent_sign_in, start_session
from portal.errors import DomainError
from portal.extensions import limiter
from portal.security.permissions import Permission, requires
from portal.web import home_url_for, render_form_error, safe_next

blueprint = Blueprint("passkeys", __name__)

_CHALLENGE = "webauthn_challenge"


def relying_party() -> passkeys.RelyingParty:
    config = current_app.config
    origin = config["WEBAUTHN_ORIGIN"] or f"{request.scheme}://{request.host}"
    return passkeys.RelyingParty(rp_id=config["WEBAUTHN_RP_ID"] or urlsplit(origin).hostname, origin=origin)


def _problem(error: DomainError):
    from flask import g

    g.keep_bookkeeping = error.keep_bookkeeping
    return jsonify(code=error.code, message=error.message), error.status


def _options_response(challenge_id: int, options: str):
    session[_CHALLENGE] = challenge_id  # only its id: the challenge itself stays in the database
    return current_app.response_class(options, mimetype="application/json")


# --- Managing one's passkeys ---------------------------------------------------------------


@blueprint.get("/account/passkeys")
@requires(Permission.SIGNED_IN)
def manage():
    return render_template("accounts/passkeys.html", passkeys=passkeys.passkeys_of(current_user))


@blueprint.post("/account/passkeys/options")
@requires(Permission.PUBLIC)  # signed in, or a staff member inside the enrolment window
@limiter.limit("20 per minute")
def registration_options():
    user = _registering_user()
    if user is None:
        return jsonify(code="request.unauthenticated"), 401
    return _options_response(*passkeys.begin_registration(user, relying_party()))


@blueprint.post("/account/passkeys")
@requires(Permission.PUBLIC)  # as above
@limiter.limit("20 per minute")
def register():
    user = _registering_user()
    if user is None:
        return jsonify(code="request.unauthenticated"), 401
    first_enrolment = not current_user.is_authenticated
    try:
        credential, name = _browser_answer()
        passkeys.finish_registration(
            user,
            session.pop(_CHALLENGE, None),
            credential,
            name,
            relying_party(),
            first_enrolment=first_enrolment,
        )
    except DomainError as error:
        return _problem(error)
    flash(_("Your passkey was added."), "success")
    if first_enrolment:
        close_enrolment()
        note_sign_in(user, "password+first_passkey")
        start_session(user, "password+first_passkey")
        return jsonify(redirect=home_url_for(user))
    return jsonify(redirect=url_for("passkeys.manage"))


def _browser_answer() -> tuple[str, str]:
    """The credential (as JSON text, for the adapter) and the name the person gave it."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        raise passkeys.refused("passkey.bad_answer")
    name = body.get("name")
    return json.dumps(body["credential"]), name if isinstance(name, str) else ""


def _registering_user():
    if current_user.is_authenticated:
        return current_user
    return enrolling_user()


@blueprint.get("/account/passkeys/enrol")
@requires(Permission.PUBLIC)  # the enrolment window, checked below
def enrol():
    user = enrolling_user()
    if user is None:
        flash(_("Please sign in first."), "info")
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/passkey_enrol.html", user=user)


@blueprint.post("/account/passkeys/<int:passkey_id>/rename")
@requires(Permission.SIGNED_IN)
@require_recent_sign_in()
def rename(passkey_id: int):
    try:
        passkeys.rename_passkey(current_user, passkey_id, forms.text("name", max_length=50))
    except DomainError as error:
        return render_form_error("accounts/passkeys.html", error, passkeys=passkeys.passkeys_of(current_user))
    flash(_("Saved."), "success")
    return redirect(url_for("passkeys.manage"))


@blueprint.post("/account/passkeys/<int:passkey_id>/remove")
@requires(Permission.SIGNED_IN)
@require_recent_sign_in()
def remove(passkey_id: int):
    try:
        passkeys.remove_passkey(current_user, passkey_id, passkey_required=passkey_only(current_user))
    except DomainError as error:
        return render_form_error("accounts/passkeys.html", error, passkeys=passkeys.passkeys_of(current_user))
    flash(_("The passkey was removed."), "success")
    return redirect(url_for("passkeys.manage"))


# --- Signing in with a passkey ---------------------------------------------------------------


@blueprint.post("/sign-in/passkey/options")
@requires(Permission.PUBLIC)
@limiter.limit("20 per minute")
def sign_in_options():
    return _options_response(*passkeys.begin_sign_in(relying_party()))


@blueprint.post("/sign-in/passkey")
@requires(Permission.PUBLIC)
@limiter.limit("10 per minute")
def sign_in():
    try:
        credential, _name = _browser_answer()
        user = passkeys.finish_sign_in(session.pop(_CHALLENGE, None), credential, relying_party())
        check_can_sign_in(user)
    except DomainError as error:
        return _problem(error)
    note_sign_in(user, "passkey")
    start_session(user, "passkey")
    next_page = request.args.get("next", "")
    return jsonify(redirect=safe_next(next_page) if next_page else home_url_for(user))
