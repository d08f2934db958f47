"""Staff pages: the unit's students, one record with its history and guardian links."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import forms
from portal.errors import DomainError
from portal.guardians import service as links
from portal.guardians.models import RELATION_LABELS
from portal.registry.models import grade_label
from portal.registry.service import history_of, read_student, reveal_document_number, search_student_rows
from portal.registry.status import Status
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student
from portal.web import render_form_error

blueprint = Blueprint("registry", __name__, url_prefix="/staff")


@blueprint.get("/students")
@requires(Permission.STUDENTS_READ)
def students():
    query = request.args.get("q", "").strip()[:40]
    result = search_student_rows(current_user, query, after=_cursor("after"), before=_cursor("before"))
    labels = _row_labels(result.students)
    return render_template("registry/students.html", query=query, result=result, **labels)


def _row_labels(rows) -> dict:
    """The status and grade labels of a page of results, each translated once, not once a row."""
    return {
        "status_labels": {code: Status(code).label for code in {row.status for row in rows}},
        "grade_labels": {grade: grade_label(grade) for grade in {row.grade for row in rows}},
    }


def _cursor(name: str) -> int | None:
    """A keyset cursor from the query string: the id a page of results starts after (or before)."""
    return forms.query_int(name, default=None, minimum=1, maximum=forms.MAX_CURSOR)


def _record_context(student, **extra) -> dict:
    return {
        "student": student,
        "history": history_of(student),
        "links": links.links_of(student),
        "codes": links.open_codes_of(student),
        "relations": RELATION_LABELS,
        "reveal": False,
        "new_code": None,
        "new_code_for": None,
        **extra,
    }


@blueprint.get("/students/<int:student_id>")
@requires(Permission.STUDENTS_READ)
def student(student_id: int):
    record = read_student(current_user, student_id)
    return render_template("registry/student.html", **_record_context(record))


@blueprint.post("/students/<int:student_id>/reveal")
@requires(Permission.DOCUMENT_REVEAL)
def reveal_document(student_id: int):
    """Show the full document number once, to verify it against a paper document."""
    record = reveal_document_number(current_user, student_id)
    return render_template("registry/student.html", **_record_context(record, reveal=True))


@blueprint.post("/students/<int:student_id>/codes")
@requires(Permission.LINKS_MANAGE)
def issue_code(student_id: int):
    record = get_visible_student(current_user, student_id)
    try:
        issued, code = links.issue_code(
            record,
            forms.text("guardian_name", max_length=50),
            forms.text("guardian_mobile", max_length=20),
            request.form.get("relation", ""),
            current_user,
        )
    except DomainError as error:
        return render_form_error("registry/student.html", error, **_record_context(record))
    context = _record_context(record, new_code=code, new_code_for=issued)
    return render_template("registry/student.html", **context)


# Revoking is never one tap: the GET shows what will happen and asks why; the POST does it.
@blueprint.route("/students/<int:student_id>/codes/<int:code_id>/revoke", methods=["GET", "POST"])
@requires(Permission.LINKS_MANAGE)
def revoke_code(student_id: int, code_id: int):
    record = get_visible_student(current_user, student_id)
    code = links.code_of(code_id, record)
    if request.method == "GET":
        return render_template("registry/confirm_revoke.html", student=record, code=code, link=None)
    try:
        links.revoke_code(code_id, record, current_user, reason=forms.text("reason", max_length=200))
    except DomainError as error:
        return render_form_error("registry/confirm_revoke.html", error, student=record, code=code, link=None)
    flash(_("The binding code was revoked."), "success")
    return redirect(url_for("registry.student", student_id=record.id))


@blueprint.route("/students/<int:student_id>/links/<int:link_id>/revoke", methods=["GET", "POST"])
@requires(Permission.LINKS_MANAGE)
def revoke_link(student_id: int, link_id: int):
    record = get_visible_student(current_user, student_id)
    link = links.link_of(link_id, record)
    if request.method == "GET":
        return render_template("registry/confirm_revoke.html", student=record, code=None, link=link)
    try:
        links.revoke_link(link_id, record, current_user, reason=forms.text("reason", max_length=200))
    except DomainError as error:
        return render_form_error("registry/confirm_revoke.html", error, student=record, code=None, link=link)
    flash(_("The guardian link was revoked."), "success")
    return redirect(url_for("registry.student", student_id=record.id))
