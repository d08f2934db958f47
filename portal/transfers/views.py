"""Transfer pages: the family applies and follows each party; staff decide and read archives."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import forms
from portal.approvals import engine
from portal.approvals.models import Step
from portal.errors import DomainError, ValidationFailed
from portal.evidence.service import store_upload
from portal.extensions import db
from portal.orgs.models import STAGE_GRADES, STAGE_LABELS
from portal.registry.models import grade_label
from portal.security.permissions import Permission, requires
from portal.security.scope import can_act_for_unit, get_visible_student
from portal.transfers import service
from portal.transfers.kind import REASONS, receiving_school, sending_school
from portal.web import render_form_error

blueprint = Blueprint("transfers", __name__)


# --- the family ----------------------------------------------------------------------------------


def _apply_context(student) -> dict:
    query = request.values.get("q", "").strip()[:50]
    return {
        "student": student,
        "query": query,
        "schools": service.receiving_schools(student, query),
        "reasons": REASONS,
        "chosen": request.form.get("to_school_id", type=int),
        "stage_labels": STAGE_LABELS,
        # A double tap or a retried submit carries the same key and finds the same case.
        "idempotency_key": request.form.get("idempotency_key") or secrets.token_urlsafe(16),
    }


@blueprint.route("/children/<int:student_id>/transfer", methods=["GET", "POST"])
@requires(Permission.TRANSFERS_APPLY)
def apply(student_id: int):
    student = get_visible_student(current_user, student_id)
    if request.method == "GET" or request.form.get("action") == "search":
        return render_template("transfers/apply.html", **_apply_context(student))
    try:
        case = service.apply_for_transfer(
            student,
            current_user,
            to_school_id=forms.int_field("to_school_id", default=0),
            reason=forms.text("reason", max_length=20),
            reason_text=forms.text("reason_text", max_length=500),
            evidence=_stored_evidence(),
            idempotency_key=forms.text("idempotency_key", max_length=64) or None,
        )
    except DomainError as error:
        return render_form_error("transfers/apply.html", error, **_apply_context(student))
    flash(_("Your application was sent to the receiving school."), "success")
    if current_user.is_staff:
        return redirect(url_for("transfers.queue"))
    return redirect(url_for("transfers.progress", case_id=case.id))


def _uploads() -> list:
    """The files chosen in the form (an empty file input sends one nameless part)."""
    files = [f for f in request.files.getlist("evidence_files") if f and f.filename]
    if len(files) > current_app.config["EVIDENCE_MAX_FILES"]:
        raise ValidationFailed(
            "evidence.too_many_files",
            _l("Please attach at most %(max)s files at a time."),
            max=current_app.config["EVIDENCE_MAX_FILES"],
        )
    return files


def _stored_evidence() -> list[str]:
    return [store_upload(upload, uploader=current_user).id for upload in _uploads()]


@blueprint.get("/transfers/<int:case_id>")
@requires(Permission.CHILDREN_READ)
def progress(case_id: int):
    case = service.transfer_for_family(current_user, case_id)
    return render_template("transfers/progress.html", progress=service.progress_of(case))


@blueprint.post("/transfers/<int:case_id>/withdraw")
@requires(Permission.TRANSFERS_APPLY)
def withdraw(case_id: int):
    service.transfer_for_family(current_user, case_id)
    try:
        engine.withdraw(case_id, current_user, reason=forms.text("reason", max_length=500))
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("transfers.progress", case_id=case_id))
    flash(_("The application was withdrawn."), "success")
    return redirect(url_for("transfers.progress", case_id=case_id))


@blueprint.post("/transfers/<int:case_id>/resubmit")
@requires(Permission.TRANSFERS_APPLY)
def resubmit(case_id: int):
    service.transfer_for_family(current_user, case_id)
    try:
        service.add_material(
            case_id, current_user, note=forms.text("note", max_length=500), uploads=_uploads()
        )
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("transfers.progress", case_id=case_id))
    flash(_("Sent again. The same party reviews it, with a fresh deadline."), "success")
    return redirect(url_for("transfers.progress", case_id=case_id))


# --- staff ---------------------------------------------------------------------------------------


@blueprint.get("/staff/transfers")
@requires(Permission.CASES_DECIDE)
def queue():
    return render_template("transfers/queue.html", steps=service.cases_waiting_on(current_user.org_unit_id))


def _own_step(step_id: int) -> Step:
    step = db.session.get(Step, step_id)
    if step is None or step.case.kind != "transfer" or not can_act_for_unit(current_user, step.org_unit):
        abort(404)
    return step


def _step_context(step: Step) -> dict:
    case = step.case
    to_school = receiving_school(case)
    return {
        "case": case,
        "step": step,
        "student": case.student,
        "progress": service.progress_of(service.load_transfer(case.id)),
        "grades": [(g, grade_label(g)) for g in STAGE_GRADES[to_school.stage]],
        "from_school": sending_school(case),
        "to_school": to_school,
    }


@blueprint.get("/staff/transfers/steps/<int:step_id>")
@requires(Permission.CASES_DECIDE)
def step(step_id: int):
    return render_template("transfers/step.html", **_step_context(_own_step(step_id)))


@blueprint.post("/staff/transfers/steps/<int:step_id>/decide")
@requires(Permission.CASES_DECIDE)
def decide(step_id: int):
    step = _own_step(step_id)
    action = request.form.get("action", "")
    reason = forms.text("reason", max_length=500)
    try:
        if action == "return":
            engine.return_case(step_id, current_user, missing=reason)
        elif action in ("approve", "reject"):
            service.decide(
                step_id,
                current_user,
                approve=action == "approve",
                reason=reason,
                grade=forms.int_field("grade", default=step.case.student.grade, minimum=1, maximum=12),
                class_name=forms.text("class_name", max_length=20),
            )
        else:
            abort(400)
    except DomainError as error:
        return render_form_error("transfers/step.html", error, **_step_context(step))
    flash(_("Your decision was recorded."), "success")
    return redirect(url_for("transfers.queue"))


@blueprint.get("/staff/transfers/archives")
@requires(Permission.STUDENTS_READ)
def archives():
    return render_template("transfers/archives.html", archives=service.archives_of(current_user))


@blueprint.get("/staff/transfers/archives/<int:archive_id>")
@requires(Permission.STUDENTS_READ)
def archive(archive_id: int):
    return render_template("transfers/archive.html", archive=service.read_archive(current_user, archive_id))


def _paper_context() -> dict:
    return {"reasons": REASONS}


@blueprint.route("/staff/transfers/paper", methods=["GET", "POST"])
@requires(Permission.TRANSFERS_PAPER)
def paper():
    if request.method == "GET":
        return render_template("transfers/paper.html", **_paper_context())
    try:
        service.record_paper_transfer(
            forms.text("student_number", max_length=19),
            current_user,
            to_school_id=service.school_id_by_code(forms.text("to_school_code", max_length=12)),
            paper_reference=forms.text("paper_reference", max_length=50),
            paper_date=forms.date_field("paper_date"),
            reason=forms.text("reason", max_length=20),
            reason_text=forms.text("reason_text", max_length=500),
        )
    except DomainError as error:
        return render_form_error("transfers/paper.html", error, **_paper_context())
    flash(_("The paper transfer was recorded; its electronic hand-over follows the usual route."), "success")
    return redirect(url_for("transfers.queue"))


@blueprint.app_template_global("transfer_progress")
def transfer_progress(case):
    """For the generic step page's include of `transfers/_review.html`."""
    return service.progress_of(service.load_transfer(case.id))


@blueprint.app_template_global("transfer_reason")
def transfer_reason(code: str) -> str:
    return str(REASONS.get(code, code or ""))


@blueprint.route("/staff/transfers/new", methods=["GET", "POST"])
@requires(Permission.TRANSFERS_APPLY)
def enter():
    """The receiving school enters a family's application (M-15)."""
    if not current_user.is_staff:
        abort(404)
    if request.method == "GET":
        return render_template("transfers/enter.html", reasons=REASONS)
    try:
        case = service.enter_for_family(
            forms.text("student_number", max_length=19),
            current_user,
            reason=forms.text("reason", max_length=20),
            reason_text=forms.text("reason_text", max_length=500),
            evidence=_stored_evidence(),
        )
    except DomainError as error:
        return render_form_error("transfers/enter.html", error, reasons=REASONS)
    flash(_("The application was entered; a colleague at your school reviews it first."), "success")
    return redirect(url_for("transfers.queue", entered=case.id))
