"""Identity pages: the live card, certificates, the public verify page, JWKS and status list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import clock, forms
from portal.accounts.sessions import require_recent_sign_in
from portal.errors import DomainError, NotFound
from portal.extensions import csrf, limiter
from portal.identity import certificates, qr, relying_parties, statuslist, tokens
from portal.identity.keys import jwks
from portal.identity.pdf import certificate_pdf
from portal.identity.verification import Channel, receipts_for, verify
from portal.identity.verifier import PUBLIC_AUDIENCE, Check, Reason, TokenType, Verdict
from portal.orgs.models import SchoolStage
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student
from portal.web import render_form_error

blueprint = Blueprint("identity", __name__)

JWKS_MAX_AGE = 300  # keys are published IDENTITY_KEY_PUBLISH_SECONDS (600 s) before they sign
MAX_PHOTO_BYTES = 4 * 1024 * 1024


@blueprint.get("/.well-known/jwks.json")
@requires(Permission.PUBLIC)
def jwks_document():
    response = jsonify(jwks())
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response


@blueprint.get("/identity/status/<list_id>")
@requires(Permission.PUBLIC)
def status_list(list_id: str):
    if list_id != statuslist.LIST_ID:
        abort(404)
    response = make_response(statuslist.status_list_token(list_id))
    response.mimetype = "application/statuslist+jwt"
    response.headers["Cache-Control"] = f"public, max-age={statuslist.TTL_SECONDS}"
    return response


@blueprint.get("/children/<int:student_id>/card")
@requires(Permission.IDENTITY_CARD_SHOW)
@require_recent_sign_in()  # a phone left signed in for days shows no card to whoever holds it
def card(student_id: int):
    student = get_visible_student(current_user, student_id)
    party = _chosen_party()
    context = {"student": student, "party": party, "parties": relying_parties.all_parties()}
    try:
        issued = tokens.issue_card(student, party)
    except DomainError as error:
        return render_form_error("identity/card.html", error, card=None, receipts=[], **context)
    return render_template(
        "identity/card.html",
        card=issued,
        extra_claims=relying_parties.approved_claims(party, student) if party else [],
        qr_svg=qr.svg(issued.qr_text),
        receipts=receipts_for(student),
        **context,
    )


@blueprint.get("/children/<int:student_id>/card/qr")
@requires(Permission.IDENTITY_CARD_SHOW)
def card_qr(student_id: int):
    """A fresh QR for the card page's script (the page works without it, by reloading)."""
    student = get_visible_student(current_user, student_id)
    issued = tokens.issue_card(student, _chosen_party())
    return jsonify(
        svg=qr.svg(issued.qr_text),
        expires_at=issued.expires_at.isoformat(),
        expires_label=format_datetime(issued.expires_at, "HH:mm:ss"),
        renew_in=tokens.CARD_RENEW_SECONDS,
    )


def _chosen_party():
    audience = request.args.get("for", "").strip()[:64]
    if not audience:
        return None
    party = relying_parties.find(audience)
    if party is None:
        abort(404)
    return party


@blueprint.route("/children/<int:student_id>/certificates", methods=["GET", "POST"])
@requires(Permission.CERTIFICATES_MANAGE)
def certificate_list(student_id: int):
    student = get_visible_student(current_user, student_id)
    context = {
        "student": student,
        "certificates": certificates.certificates_of(student),
        "is_live": certificates.is_live,
        "default_days": certificates.DEFAULT_VALID_DAYS,
        "max_days": certificates.MAX_VALID_DAYS,
    }
    if request.method == "GET":
        return render_template("identity/certificates.html", **context)
    try:
        days = forms.int_field("valid_days", default=certificates.DEFAULT_VALID_DAYS, minimum=1, maximum=180)
        issued = certificates.request_certificate(
            current_user, student, purpose=forms.text("purpose", max_length=100), valid_days=days
        )
    except DomainError as error:
        return render_form_error("identity/certificates.html", error, **context)
    flash(_("The certificate is ready. Print it or save the PDF."), "success")
    return redirect(url_for(".certificate", student_id=student.id, certificate_id=issued.id))


@blueprint.get("/children/<int:student_id>/certificates/<int:certificate_id>")
@requires(Permission.CERTIFICATES_MANAGE)
def certificate(student_id: int, certificate_id: int):
    student = get_visible_student(current_user, student_id)
    found = certificates.get_certificate(student, certificate_id)
    return render_template(
        "identity/certificate.html",
        student=student,
        certificate=found,
        is_live=certificates.is_live(found),
        code=certificates.verification_code(found),
        qr_svg=qr.svg(_certificate_qr_text(found)),
    )


@blueprint.get("/children/<int:student_id>/certificates/<int:certificate_id>.pdf")
@requires(Permission.CERTIFICATES_MANAGE)
def certificate_pdf_file(student_id: int, certificate_id: int):
    student = get_visible_student(current_user, student_id)
    found = certificates.get_certificate(student, certificate_id)
    if not certificates.is_live(found):
        abort(404)
    code = certificates.verification_code(found)
    body = certificate_pdf(
        title=_("Student registry certificate"),
        lines=[
            (_("Name"), student.name),
            (_("School"), student.school.name),
            (_("Grade"), student.grade_label),
            (_("Registry status"), student.status_enum.label),
            (_("Purpose"), found.purpose),
            (_("Issued on"), format_datetime(found.issued_at, "medium")),
            (_("Valid until"), format_datetime(found.expires_at, "medium")),
            (_("Verification code"), code),
        ],
        qr_text=_certificate_qr_text(found),
        notes=[
            _("Check this certificate by scanning the code, or by typing the verification code at %(url)s.")
            % {"url": url_for(".verify_page", _external=True)},
            _("The code discloses only that the student is enrolled, the school code, stage and grade."),
        ],
    )
    response = make_response(body)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="certificate-{found.id}.pdf"'
    return response


@blueprint.post("/children/<int:student_id>/certificates/<int:certificate_id>/revoke")
@requires(Permission.CERTIFICATES_MANAGE)
def certificate_revoke(student_id: int, certificate_id: int):
    student = get_visible_student(current_user, student_id)
    found = certificates.get_certificate(student, certificate_id)
    try:
        certificates.revoke(found, current_user)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            _("The certificate is revoked: anyone who checks it now sees that it is no longer valid."),
            "success",
        )
    return redirect(url_for(".certificate_list", student_id=student.id))


@blueprint.route("/identity/relying-parties", methods=["GET", "POST"])
@requires(Permission.RELYING_PARTIES_APPROVE)
def relying_party_approvals():
    """A county registrar approves extra claims for a relying party (who approves is responsible)."""
    context = {
        "parties": relying_parties.all_parties(),
        "claims": relying_parties.APPROVABLE_CLAIMS,
        "approvals": relying_parties.approvals_by(current_user),
    }
    if request.method == "GET":
        return render_template("identity/relying_parties.html", **context)
    try:
        party = relying_parties.find(forms.text("audience", max_length=64))
        if party is None:
            raise NotFound("relying_party.not_found", _l("No such relying party."))
        days = forms.int_field("valid_days", minimum=1, maximum=relying_parties.MAX_APPROVAL_DAYS)
        relying_parties.approve_claims(
            party,
            request.form.getlist("claims"),
            purpose=forms.text("purpose", max_length=500),
            valid_until=clock.now() + timedelta(days=days),
            approver=current_user,
        )
    except DomainError as error:
        return render_form_error("identity/relying_parties.html", error, **context)
    flash(_("The approval is recorded in your name."), "success")
    return redirect(url_for(".relying_party_approvals"))


@blueprint.post("/identity/relying-parties/approvals/<int:approval_id>/revoke")
@requires(Permission.RELYING_PARTIES_APPROVE)
def revoke_relying_party_approval(approval_id: int):
    """A registrar of the approving county ends an approval early, giving the reason."""
    try:
        relying_parties.revoke_approval(
            approval_id, reason=forms.text("reason", max_length=500), revoker=current_user
        )
    except DomainError as error:
        return render_form_error(
            "identity/relying_parties.html",
            error,
            parties=relying_parties.all_parties(),
            claims=relying_parties.APPROVABLE_CLAIMS,
            approvals=relying_parties.approvals_by(current_user),
        )
    flash(_("The approval is revoked: new tokens no longer carry these claims."), "success")
    return redirect(url_for(".relying_party_approvals"))


def _certificate_qr_text(found) -> str:
    from portal.identity.transport import pack

    return pack(found.token)


@blueprint.route("/verify", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
@csrf.exempt  # a public, read-only check a relying party posts from any phone; it changes nothing of theirs
@limiter.limit("30 per minute", methods=["POST"])
def verify_page():
    if request.method == "GET":
        return render_template("identity/verify.html", verdict=None)
    token, problem = _presented_token()
    if token is None:
        return render_template("identity/verify.html", verdict=None, problem=problem), 400
    verdict = verify(token, audience=PUBLIC_AUDIENCE, channel=Channel.PAGE)
    return render_template("identity/verify.html", verdict=verdict, rows=_checklist(verdict))


def _presented_token() -> tuple[str | None, str | None]:
    photo = request.files.get("photo")
    if photo and photo.filename:
        data = photo.read(MAX_PHOTO_BYTES + 1)
        texts = qr.read(data) if len(data) <= MAX_PHOTO_BYTES else []
        if not texts:
            message = _("No QR code could be read from this photo. Hold the phone steady and fill the frame.")
            return None, message
        return texts[0], None
    code = request.form.get("code", "").strip()[:40]
    if code:
        found = certificates.find_by_code(code)
        if found is None:
            return None, _("No certificate has this verification code. Check the code and try again.")
        return found.token, None
    token = request.form.get("token", "").strip()[:4096]
    if token:
        return token, None
    return None, _("Take a photo of the QR code, or type the verification code.")


CHECK_LABELS = {
    Check.SIGNATURE: lambda: _("Signature of the education authority"),
    Check.KEY: lambda: _("Signing key is published"),
    Check.VALIDITY: lambda: _("Within its validity period"),
    Check.REVOCATION: lambda: _("Not revoked"),
    Check.AUDIENCE: lambda: _("Meant for this verifier"),
}
REASON_LABELS = {
    Reason.MALFORMED: lambda: _("This is not a readable identity code."),
    Reason.OVERSIZED: lambda: _("This code is too long to be an identity code."),
    Reason.WRONG_TYPE: lambda: _("This is another kind of code, not a student identity."),
    Reason.UNSUPPORTED_ALGORITHM: lambda: _("The code uses a signature method that is not accepted."),
    Reason.UNKNOWN_KEY: lambda: _("The code was signed with a key the portal does not publish."),
    Reason.BAD_SIGNATURE: lambda: _("The signature does not match: the code was altered or forged."),
    Reason.WRONG_ISSUER: lambda: _("The code was not issued by this portal."),
    Reason.NOT_YET_VALID: lambda: _("The code is not valid yet: check the phone's clock."),
    Reason.EXPIRED: lambda: _("The code has expired. Ask for a fresh one."),
    Reason.WRONG_AUDIENCE: lambda: _("The code is meant for another verifier."),
    Reason.REVOKED: lambda: _("The code was revoked, or the student no longer attends."),
    Reason.STATUS_UNAVAILABLE: lambda: _("The revocation status could not be checked."),
    Reason.ALREADY_USED: lambda: _("This code was already used."),
}


CLAIM_LABELS = {
    "enr": lambda: _("Enrolled"),
    "sch": lambda: _("School code"),
    "stg": lambda: _("School stage"),
    "grd": lambda: _("Grade"),
    "name": lambda: _("Name"),
    "class": lambda: _("Class"),
}
TOKEN_TYPE_LABELS = {
    TokenType.CARD: lambda: _("Live identity card"),
    TokenType.RELYING_PARTY: lambda: _("Live identity card for a registered verifier"),
    TokenType.CERTIFICATE: lambda: _("Registry certificate"),
}


@blueprint.app_template_filter("claim_label")
def claim_label(name: str) -> str:
    label = CLAIM_LABELS.get(name)
    return label() if label else name


@blueprint.context_processor
def identity_helpers():
    return {
        "claim_label": claim_label,
        "reason_label": lambda reason: REASON_LABELS[Reason(reason)](),
        "token_type_label": lambda typ: TOKEN_TYPE_LABELS[TokenType(typ)](),
        "stage_label": _stage_label,
        "renew_seconds": tokens.CARD_RENEW_SECONDS,
    }


def _stage_label(stage: str) -> str:
    try:
        return SchoolStage(stage).label
    except ValueError:
        return stage


@blueprint.app_template_filter("timestamp_label")
def timestamp_label(seconds: int) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, UTC), "medium")


def _checklist(verdict: Verdict) -> list[tuple[str, str]]:
    return [(str(outcome), CHECK_LABELS[check]()) for check, outcome in verdict.checks.items()]
