"""Pages: propose a correction (guardian, or a registrar from a paper form), resubmit it,
review and decide it field by field (staff)."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import forms
from portal.accounts.sessions import require_recent_sign_in
from portal.approvals.kinds import get_kind
from portal.approvals.models import CaseState, StepState
from portal.corrections import service
from portal.errors import DomainError, ValidationFailed
from portal.evidence.photo import store_photo
from portal.evidence.service import get_evidence, store_upload
from portal.extensions import db
from portal.registry.codes import ETHNICITIES
from portal.registry.photo import PHOTO
from portal.security.permissions import Permission, requires
from portal.security.scope import can_act_for_unit, get_visible_student
from portal.web import render_form_error

blueprint = Blueprint("corrections", __name__, url_prefix="/corrections")


def _uploads(*, besides: int = 0) -> list:
    """The proof files of the form; `besides` other files (the new photo) count against the cap."""
    files = [f for f in request.files.getlist("evidence") if f and f.filename]
    from flask import current_app

    if len(files) + besides > current_app.config["EVIDENCE_MAX_FILES"]:
        raise ValidationFailed(
            "evidence.too_many",
            _("Please attach at most %(max)s files at a time.", max=current_app.config["EVIDENCE_MAX_FILES"]),
        )
    return files


def _new_photo():
    """The uploaded new registry photo, if the form carries one."""
    photo = request.files.get("photo")
    return photo if photo and photo.filename else None


def _form_context(student, **extra) -> dict:
    return {
        "student": student,
        "fields": service.CORRECTABLE_FIELDS,
        "ethnicities": ETHNICITIES,
        "key": request.form.get("key") or secrets.token_hex(16),
        "staff": current_user.is_staff,
        "photo_is_key": service.photo_is_key_for(student),
        **extra,
    }


def _back_to(student):
    if current_user.is_staff:
        return url_for("registry.student", student_id=student.id)
    return url_for("guardians.child", student_id=student.id)


@blueprint.route("/students/<int:student_id>/new", methods=["GET", "POST"])
@requires(Permission.CORRECTIONS_PROPOSE)
@require_recent_sign_in()  # key fields change a child's identity: ask who is there (issue 9)
def start(student_id: int):
    """Propose new values for one or more fields, with a reason and evidence."""
    student = get_visible_student(current_user, student_id)
    if request.method == "GET":
        return render_template("corrections/start.html", **_form_context(student))
    key = forms.text("key", max_length=64)
    existing = service.case_for_key(key, current_user)
    if existing is None:  # a double tap must not store the photos twice
        try:
            raw = {name: request.form.get(name, "") for name in service.CORRECTABLE_FIELDS}
            reason = forms.text("reason", max_length=600)
            photo = _new_photo()
            files = _uploads(besides=1 if photo else 0)
            # Check the values first: a refused proposal stores no photo at all.
            service.check_requester(student, current_user)
            service.prepare(student, raw, with_photo=photo is not None)
            if photo is not None:
                raw[PHOTO] = store_photo(photo, uploader=current_user).id
            refs = [store_upload(f, uploader=current_user).id for f in files]
            existing = service.propose(student, current_user, raw, reason=reason, evidence=refs, key=key)
        except DomainError as error:
            db.session.rollback()
            student = get_visible_student(current_user, student_id)
            return render_form_error("corrections/start.html", error, **_form_context(student))
    if current_user.is_staff:
        flash(_("The correction was entered. A colleague at the school must decide on it."), "success")
    else:
        flash(_("Your correction request was sent to the school."), "success")
    return redirect(_back_to(student))


@blueprint.route("/<int:case_id>/resubmit", methods=["GET", "POST"])
@requires(Permission.CORRECTIONS_PROPOSE)
def resubmit(case_id: int):
    """Add what the school or county asked for, and send the request back to them."""
    case = service.correction_case_for(current_user, case_id)
    if case.requester_id != current_user.id or case.state != CaseState.RETURNED:
        abort(404)
    context = {
        "case": case,
        "student": case.student,
        "evidence": get_evidence(case.payload.get("evidence", [])),
    }
    if request.method == "GET":
        return render_template("corrections/resubmit.html", **context)
    try:
        refs = [store_upload(f, uploader=current_user).id for f in _uploads()]
        service.resubmit(case.id, current_user, note=forms.text("note", max_length=600), evidence=refs)
    except DomainError as error:
        db.session.rollback()
        case = service.correction_case_for(current_user, case_id)
        return render_form_error("corrections/resubmit.html", error, **{**context, "case": case})
    flash(_("Sent again. The request is back with the same unit."), "success")
    return redirect(_back_to(case.student))


@blueprint.get("/queue")
@requires(Permission.CASES_DECIDE)
def queue():
    """Corrections waiting for the signed-in registrar's unit."""
    return render_template("corrections/queue.html", steps=service.pending_steps(current_user.org_unit))


def _review_context(step) -> dict:
    case = step.case
    return {
        "step": step,
        "case": case,
        "student": case.student,
        "kind": get_kind(case.kind),
        "is_requester": case.requester_id == current_user.id,
        "may_act": can_act_for_unit(current_user, step.org_unit),
    }


@blueprint.get("/steps/<int:step_id>")
@requires(Permission.STUDENTS_READ)
def review(step_id: int):
    """One correction step: current beside proposed, field by field, with the evidence."""
    step = service.step_for_staff(current_user, step_id)
    return render_template("corrections/review.html", **_review_context(step))


@blueprint.post("/steps/<int:step_id>/decide")
@requires(Permission.CASES_DECIDE)
def decide(step_id: int):
    """Approve all, approve some and decline the others, return, or reject (the generic step
    page posts here too: `action` and `reason`; field choices come as `field` with `choose=1`)."""
    step = service.step_for_staff(current_user, step_id)
    action = request.form.get("action", "")
    fields = request.form.getlist("field") if request.form.get("choose") else None
    try:
        service.decide(
            step.id, current_user, action=action, fields=fields, reason=forms.text("reason", max_length=600)
        )
    except DomainError as error:
        db.session.rollback()
        step = service.step_for_staff(current_user, step_id)
        return render_form_error("corrections/review.html", error, **_review_context(step))
    step = service.step_for_staff(current_user, step_id)
    if step.state == StepState.RETURNED:
        flash(_("Returned to the family for more material."), "success")
    elif step.case.state == CaseState.APPROVED:
        flash(_("Approved. The record now shows the approved values."), "success")
    elif step.state == StepState.REJECTED:
        flash(_("Rejected. The family has been told the reason."), "success")
    else:
        flash(_("Approved. The request goes on to the county."), "success")
    return redirect(url_for(".queue"))


@blueprint.app_template_global()
def correction_evidence(case) -> list:
    """The evidence rows of a case, for the partials (shown through evidence.show only); the
    new photo is shown beside the current one instead."""
    photo = case.payload.get("changes", {}).get(PHOTO)
    return get_evidence([ref for ref in case.payload.get("evidence", []) if ref != photo])


@blueprint.app_template_global()
def correction_choosable(case) -> list[str]:
    return service.decidable_fields(case)
