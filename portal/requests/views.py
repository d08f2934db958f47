"""The request pages: families start, follow, complete and withdraw requests; staff work
their unit's queue, decide steps, start requests from paper forms; county and city units
watch deadlines in their area (M-23). Every page works without JavaScript.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import clock, forms
from portal.approvals import engine
from portal.approvals.kinds import case_kind_label, step_role_label
from portal.approvals.models import Case, StepState
from portal.errors import DomainError, ValidationFailed
from portal.evidence.service import store_upload
from portal.extensions import db
from portal.registry.models import grade_label
from portal.requests import service
from portal.requests.service import Action, QueueFilter
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student
from portal.web import render_form_error

blueprint = Blueprint("requests", __name__)

IDEMPOTENCY_FIELD = "idempotency_key"


# --- evidence ---------------------------------------------------------------------------


def store_evidence(files, uploader) -> list[str]:
    """Store uploaded files through the one evidence module; their ids for `payload["evidence"]`."""
    most = current_app.config["EVIDENCE_MAX_FILES"]
    files = [f for f in files if f and f.filename]
    if len(files) > most:
        raise ValidationFailed("case.too_many_files", _l("Please attach at most %(max)s files."), max=most)
    return [store_upload(f, uploader=uploader).id for f in files]


def idempotency_key(user) -> str | None:
    """The form's one-time key, bound to the person: a double tap finds the first case."""
    raw = request.form.get(IDEMPOTENCY_FIELD, "").strip()[:40]
    return f"{user.id}:{raw}" if raw else None


def _new_key() -> str:
    return secrets.token_urlsafe(18)


# --- families ---------------------------------------------------------------------------


@blueprint.route("/children/<int:student_id>/requests/new", methods=["GET", "POST"])
@requires(Permission.CHILDREN_READ)
def start(student_id: int):
    """The generic form of the status requests: reason, return date (suspension), evidence."""
    student = get_visible_student(current_user, student_id)
    kind_name = request.values.get("kind", "")
    context = {"student": student, "staff": False}
    existing = service.case_for_key(idempotency_key(current_user), current_user)
    if request.method == "POST" and existing is not None:  # a double tap: the first one's page
        return redirect(url_for(".submitted", case_id=existing.id))
    try:
        kind = service.startable_kind(kind_name, student, current_user)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("guardians.child", student_id=student.id))
    context["kind"] = kind
    if request.method == "GET":
        return render_template("requests/start.html", key=_new_key(), **context)
    return _open_from_form(kind, student, context, done=lambda case: url_for(".submitted", case_id=case.id))


def _open_from_form(kind, student, context, *, done):
    key = idempotency_key(current_user)
    existing = service.case_for_key(key, current_user)
    if existing is not None:  # a double tap, or the same form sent again
        return redirect(done(existing))
    try:
        evidence = store_evidence(request.files.getlist("evidence"), current_user)
        payload = service.status_payload(
            kind.name,
            forms.text("reason", max_length=600),
            forms.text("return_on", max_length=10),
            evidence,
        )
        case = engine.open_case(kind.name, student, current_user, payload, idempotency_key=key)
    except DomainError as error:
        key_value = request.form.get(IDEMPOTENCY_FIELD, "") or _new_key()
        return render_form_error("requests/start.html", error, key=key_value, **context)
    return redirect(done(case))


@blueprint.get("/requests/<int:case_id>/submitted")
@requires(Permission.CHILDREN_READ)
def submitted(case_id: int):
    """The confirmation: reference, what happens next and by when. Bookmarkable, printable."""
    case = service.case_for_family(current_user, case_id)
    return render_template("requests/submitted.html", **service.case_page(case))


@blueprint.get("/requests/<int:case_id>")
@requires(Permission.CHILDREN_READ)
def case(case_id: int):
    found = service.case_for_family(current_user, case_id)
    kind = service.kind_or_none(found.kind)
    if kind is not None and kind.progress_endpoint:
        return redirect(url_for(kind.progress_endpoint, case_id=found.id))
    return _case_page(found)


def _case_page(found: Case):
    context = service.case_page(found)
    return render_template(
        "requests/case.html", can_withdraw=service.can_withdraw(found, current_user), **context
    )


@blueprint.post("/requests/<int:case_id>/resubmit")
@requires(Permission.CHILDREN_READ)
def resubmit(case_id: int):
    """The family adds what was missing and sends the request back to the same party."""
    found = service.case_for_family(current_user, case_id)
    try:
        evidence = store_evidence(request.files.getlist("evidence"), current_user)
        service.resubmit(current_user, found, forms.text("note", max_length=500), evidence)
    except DomainError as error:
        db.session.rollback()
        found = service.case_for_family(current_user, case_id)
        can_withdraw = service.can_withdraw(found, current_user)
        context = service.case_page(found)
        return render_form_error("requests/case.html", error, can_withdraw=can_withdraw, **context)
    flash(_("Thank you. The request has been sent back for review."), "success")
    return redirect(url_for(".case", case_id=found.id))


@blueprint.route("/requests/<int:case_id>/withdraw", methods=["GET", "POST"])
@requires(Permission.CHILDREN_READ)
def withdraw(case_id: int):
    """Withdraw while no party has decided: a confirmation page first (no JavaScript needed)."""
    found = service.case_for_family(current_user, case_id)
    if not service.can_withdraw(found, current_user):
        flash(_("This request can no longer be withdrawn: a party has already decided on it."), "error")
        return redirect(url_for(".case", case_id=found.id))
    if request.method == "GET":
        return render_template("requests/withdraw.html", **service.case_page(found))
    engine.withdraw(found.id, current_user, reason=forms.text("reason", max_length=500))
    flash(_("The request has been withdrawn."), "success")
    return redirect(url_for(".case", case_id=found.id))


# --- staff: the queue and the steps -----------------------------------------------------


@blueprint.get("/staff/queue")
@requires(Permission.CASES_DECIDE)
def queue():
    kind = request.args.get("kind", "")[:30]
    show = request.args.get("show", QueueFilter.PENDING)
    if show not in QueueFilter.ALL:
        show = QueueFilter.PENDING
    page = service.queue_rows(current_user, kind=kind, show=show, after=request.args.get("after", "")[:40])
    return render_template(
        "requests/queue.html",
        page=page,
        kind=kind,
        show=show,
        filters=QueueFilter.LABELS,
        today=clock.today(),
        labels=_queue_labels(page.steps),
    )


def _queue_labels(rows) -> dict:
    """The kind, role and grade labels of a page of the queue, each translated once, not once a row."""
    return {
        "kind": {kind: case_kind_label(kind) for kind in {row.kind for row in rows}},
        "role": {role: step_role_label(role) for role in {row.role for row in rows}},
        "grade": {grade: grade_label(grade) for grade in {row.grade for row in rows}},
        "returned": StepState.RETURNED.label,
    }


@blueprint.get("/staff/queue/steps/<int:step_id>")
@requires(Permission.CASES_DECIDE)
def step(step_id: int):
    found = service.step_for_staff(current_user, step_id)
    return render_template("requests/step.html", **service.step_page(current_user, found))


@blueprint.post("/staff/queue/steps/<int:step_id>/decide")
@requires(Permission.CASES_DECIDE)
def decide(step_id: int):
    """One action and a reason: approve, reject, return for more material, or file."""
    found = service.step_for_staff(current_user, step_id)
    action = request.form.get("action", "")
    try:
        details = {"grade": request.form.get("grade", "")[:2]}  # what a kind's decision fields add
        service.act_on_step(current_user, found.id, action, forms.text("reason", max_length=600), details)
    except DomainError as error:
        db.session.rollback()
        found = service.step_for_staff(current_user, step_id)
        return render_form_error("requests/step.html", error, **service.step_page(current_user, found))
    flash(_DONE.get(action, _DONE[Action.APPROVE]), "success")
    return redirect(url_for(".queue"))


_DONE = {
    Action.APPROVE: _l("Approved. The family has been told."),
    Action.REJECT: _l("Rejected. The family has been told the reason."),
    Action.RETURN: _l("Returned to the family for more material."),
    Action.FILE: _l("Filed. The family has been told."),
}


@blueprint.route("/staff/students/<int:student_id>/requests/new", methods=["GET", "POST"])
@requires(Permission.REQUESTS_START)
def staff_start(student_id: int):
    """A registrar starts a request from the family's paper form; a colleague decides it."""
    student = service.student_for_staff_start(current_user, student_id)
    context = {"student": student, "staff": True}
    existing = service.case_for_key(idempotency_key(current_user), current_user)
    if request.method == "POST" and existing is not None:  # a double tap: done already
        return redirect(url_for("registry.student", student_id=student.id))
    try:
        kind = service.startable_kind(request.values.get("kind", ""), student, current_user)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("registry.student", student_id=student.id))
    context["kind"] = kind
    if request.method == "GET":
        return render_template("requests/start.html", key=_new_key(), **context)

    def done(case):
        flash(
            _(
                "Request %(reference)s (%(kind)s) was started. A colleague must decide on it.",
                reference=case.reference,
                kind=case_kind_label(case.kind),
            ),
            "success",
        )
        return url_for("registry.student", student_id=student.id)

    return _open_from_form(kind, student, context, done=done)


# --- county and city: early warning -----------------------------------------------------


@blueprint.get("/staff/early-warning")
@requires(Permission.ALERTS_READ)
def early_warning():
    return render_template("requests/early_warning.html", **service.early_warning(current_user))


@blueprint.post("/staff/alerts/<int:alert_id>/acknowledge")
@requires(Permission.ALERTS_READ)
def acknowledge(alert_id: int):
    service.acknowledge_alert(current_user, alert_id)
    flash(_("The alert was acknowledged."), "success")
    return redirect(url_for(".early_warning"))


@blueprint.app_context_processor
def request_helpers():
    return {
        "request_kinds_for": lambda student, open_cases=None: service.kinds_offered(
            student, current_user, open_cases
        ),
        "cases_of_student": service.cases_of_student,
        "acts_for_family": lambda case: engine.acts_for_family(case, current_user),
        "case_url": case_url,
        "evidence_url": evidence_url,
        "iso_date": iso_date,
    }


def iso_date(value):
    """A payload's ISO date as a date (for dateformat), or None."""
    from datetime import date

    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def case_url(case) -> str:
    """Where the family follows a case: the kind's own progress page, or the generic one."""
    kind = service.kind_or_none(case.kind)
    if kind is not None and kind.progress_endpoint:
        return url_for(kind.progress_endpoint, case_id=case.id)
    return url_for("requests.case", case_id=case.id)


def evidence_url(evidence_id) -> str:
    """The permission-checked view of one piece of evidence."""
    return url_for("evidence.show", ref=evidence_id)
