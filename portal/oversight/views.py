"""Oversight pages: a child's access log for the family; early warnings for security staff."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal import forms
from portal.errors import DomainError, ValidationFailed
from portal.extensions import db
from portal.orgs.models import OrgUnit
from portal.orgs.service import subtree_ids
from portal.oversight.access_log import access_log
from portal.oversight.exports import decide_export, download_export, exports_page, request_export
from portal.oversight.family_copy import copies_of, get_copy, request_copy
from portal.oversight.thresholds import FIELDS, set_thresholds
from portal.oversight.warnings import acknowledge, describe, thresholds_for, warnings_page
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student
from portal.web import render_form_error

blueprint = Blueprint("oversight", __name__)


@blueprint.get("/children/<int:student_id>/access-log")
@requires(Permission.CHILDREN_READ)
def child_access_log(student_id: int):
    student = get_visible_student(current_user, student_id)
    before = forms.int_field("before", default=0, minimum=0) or None
    entries, next_before = access_log(student, before=before)
    return render_template(
        "oversight/access_log.html",
        student=student,
        entries=entries,
        next_before=next_before,
        is_first_page=before is None,
    )


def _warnings_context() -> dict:
    show_all = request.args.get("show") == "all"
    before = forms.int_field("before", default=0, minimum=0) or None
    warnings, next_before = warnings_page(current_user, show_acknowledged=show_all, before=before)
    return {"warnings": warnings, "next_before": next_before, "show_all": show_all, "describe": describe}


@blueprint.get("/security/warnings")
@requires(Permission.SECURITY_WARNINGS)
def warnings():
    return render_template("oversight/warnings.html", **_warnings_context())


@blueprint.post("/security/warnings/<int:warning_id>/acknowledge")
@requires(Permission.SECURITY_WARNINGS)
def acknowledge_warning(warning_id: int):
    try:
        acknowledge(current_user, warning_id, forms.text("note", max_length=2000))
    except DomainError as error:
        flash(error.message, "error")
        return render_template("oversight/warnings.html", **_warnings_context()), error.status
    flash(_("The warning was acknowledged."), "success")
    return redirect(url_for("oversight.warnings"))


@blueprint.route("/security/thresholds", methods=["GET", "POST"])
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def thresholds():
    province = current_user.org_unit
    if request.method == "POST":
        try:
            values = {field.name: _number(field.name) for field in FIELDS}
            set_thresholds(province, values, current_user)
        except DomainError as error:
            return render_form_error(
                "oversight/thresholds.html", error, fields=FIELDS, current=thresholds_for(province.id)
            )
        flash(_("The early-warning thresholds were saved."), "success")
        return redirect(url_for("oversight.thresholds"))
    return render_template("oversight/thresholds.html", fields=FIELDS, current=thresholds_for(province.id))


def _number(name: str) -> float:
    raw = request.form.get(name, "").strip()[:12]
    try:
        return float(raw) if "." in raw else int(raw)
    except ValueError:
        raise ValidationFailed("form.bad_number", _l("Please enter a number.")) from None


@blueprint.get("/security/exports")
@requires(Permission.EXPORTS_REQUEST)
def exports():
    before = forms.int_field("before", default=0, minimum=0) or None
    rows, next_before = exports_page(current_user, before=before)
    return render_template(
        "oversight/exports.html", exports=rows, next_before=next_before, units=_scope_units()
    )


def _scope_units():
    return db.session.scalars(
        select(OrgUnit)
        .where(OrgUnit.id.in_(subtree_ids(current_user.org_unit)))
        .order_by(OrgUnit.path)
        .limit(500)
    ).all()


@blueprint.post("/security/exports")
@requires(Permission.EXPORTS_REQUEST)
def request_export_form():
    try:
        request_export(
            current_user,
            purpose=forms.text("purpose", max_length=2000),
            recipient=forms.text("recipient", max_length=200),
            scope_unit_id=forms.int_field("scope_unit_id", minimum=1),
        )
    except DomainError as error:
        rows, next_before = exports_page(current_user)
        return render_form_error(
            "oversight/exports.html", error, exports=rows, next_before=next_before, units=_scope_units()
        )
    flash(_("The export was requested. A county-level unit must approve it."), "success")
    return redirect(url_for("oversight.exports"))


@blueprint.post("/security/exports/<int:export_id>/decide")
@requires(Permission.EXPORTS_APPROVE)
def decide_export_form(export_id: int):
    approve = request.form.get("decision") == "approve"
    try:
        decide_export(current_user, export_id, approve=approve, note=forms.text("note", max_length=2000))
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("oversight.exports")), 303
    flash(_("The decision was recorded."), "success")
    return redirect(url_for("oversight.exports"))


@blueprint.get("/security/exports/<int:export_id>/download")
@requires(Permission.EXPORTS_REQUEST)
def download_export_file(export_id: int):
    content = download_export(current_user, export_id)
    response = make_response(json.dumps(content, ensure_ascii=False, indent=1))
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="export-{export_id}.json"'
    return response


@blueprint.get("/children/<int:student_id>/copy")
@requires(Permission.CHILDREN_READ)
def family_copy(student_id: int):
    student = get_visible_student(current_user, student_id)
    return render_template(
        "oversight/family_copy.html", student=student, copies=copies_of(current_user, student)
    )


@blueprint.post("/children/<int:student_id>/copy")
@requires(Permission.CHILDREN_READ)
def request_family_copy(student_id: int):
    student = get_visible_student(current_user, student_id)
    request_copy(current_user, student)
    flash(_("Your copy is being prepared. You will get a message when it is ready."), "success")
    return redirect(url_for("oversight.family_copy", student_id=student.id))


@blueprint.get("/children/<int:student_id>/copy/<int:copy_id>/<fmt>")
@requires(Permission.CHILDREN_READ)
def download_family_copy(student_id: int, copy_id: int, fmt: str):
    if fmt not in ("json", "pdf"):
        abort(404)
    student = get_visible_student(current_user, student_id)
    copy = get_copy(current_user, student, copy_id)
    if fmt == "pdf":
        response = make_response(copy.pdf)
        response.headers["Content-Type"] = "application/pdf"
    else:
        response = make_response(json.dumps(copy.content, ensure_ascii=False, indent=1))
        response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="child-{student.id}-copy-{copy.id}.{fmt}"'
    )
    return response
