"""Oversight as JSON: the family's access log, early warnings, de-identified exports."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError

from api import blueprint
from api.errors import problem_response
from api.oversight_schemas import (
    AccessLogSchema,
    AcknowledgeSchema,
    ExportDecisionSchema,
    ExportPageSchema,
    ExportRequestSchema,
    ExportSchema,
    FamilyCopySchema,
    ThresholdsSchema,
    WarningPageSchema,
    WarningSchema,
)
from portal import forms
from portal.oversight.access_log import access_log
from portal.oversight.exports import decide_export, download_export, exports_page, request_export
from portal.oversight.family_copy import copies_of, get_copy, request_copy
from portal.oversight.thresholds import set_thresholds
from portal.oversight.warnings import acknowledge, thresholds_for, warnings_page
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student


@blueprint.get("/me/children/<int:student_id>/access-log")
@requires(Permission.CHILDREN_READ)
def my_child_access_log(student_id: int):
    """Which units used my child's record, when and why (newest first, no staff names).
    ---
    get:
      summary: Who used my child's record
      parameters:
        - {in: path, name: student_id, required: true, schema: {type: integer}}
        - {in: query, name: before, description: "cursor: next_before of the previous page",
           schema: {type: integer, minimum: 1}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: AccessLogSchema}}
        404:
          description: Not found or not your child (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    student = get_visible_student(current_user, student_id)
    before = forms.int_field("before", default=0, minimum=0) or None
    entries, next_before = access_log(student, before=before)
    return jsonify(AccessLogSchema().dump({"entries": entries, "next_before": next_before}))


def _json_body(schema):
    """The request's JSON, shaped by `schema`; a problem+json 400 if it is not."""
    try:
        return schema.load(request.get_json(silent=True) or {}), None
    except ValidationError as error:
        fields_ = ", ".join(sorted(error.messages))
        return None, problem_response(
            400, "request.bad_body", str(_l("Missing or invalid: %(fields)s", fields=fields_))
        )


@blueprint.get("/security/warnings")
@requires(Permission.SECURITY_WARNINGS)
def security_warnings():
    """Early warnings about accounts in my unit and below (newest first).
    ---
    get:
      summary: Early warnings (M-23, N16)
      parameters:
        - {in: query, name: show, description: "all: include acknowledged ones",
           schema: {type: string, enum: [all]}}
        - {in: query, name: before, schema: {type: integer, minimum: 1}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: WarningPageSchema}}
        403:
          description: Not county, city or province security staff (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    before = forms.int_field("before", default=0, minimum=0) or None
    rows, next_before = warnings_page(
        current_user, show_acknowledged=request.args.get("show") == "all", before=before
    )
    return jsonify(WarningPageSchema().dump({"warnings": rows, "next_before": next_before}))


@blueprint.post("/security/warnings/<int:warning_id>/acknowledge")
@requires(Permission.SECURITY_WARNINGS)
def security_warning_acknowledge(warning_id: int):
    """Acknowledge a warning with a note (audited).
    ---
    post:
      summary: Acknowledge a warning
      parameters:
        - {in: path, name: warning_id, required: true, schema: {type: integer}}
      requestBody:
        content: {application/json: {schema: AcknowledgeSchema}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: WarningSchema}}
        400:
          description: No note, or already acknowledged (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
        404:
          description: Not found or outside your unit (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    body, problem = _json_body(AcknowledgeSchema())
    if problem is not None:
        return problem
    return jsonify(WarningSchema().dump(acknowledge(current_user, warning_id, body["note"])))


@blueprint.get("/security/thresholds")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def security_thresholds():
    """My province's early-warning thresholds.
    ---
    get:
      summary: Early-warning thresholds
      responses:
        200:
          description: OK
          content: {application/json: {schema: ThresholdsSchema}}
    """
    return jsonify(ThresholdsSchema().dump(thresholds_for(current_user.org_unit_id)))


@blueprint.post("/security/thresholds")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def security_thresholds_save():
    """Replace my province's early-warning thresholds (audited).
    ---
    post:
      summary: Save early-warning thresholds
      requestBody:
        content: {application/json: {schema: ThresholdsSchema}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: ThresholdsSchema}}
        400:
          description: A value outside its bounds (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    body, problem = _json_body(ThresholdsSchema())
    if problem is not None:
        return problem
    return jsonify(ThresholdsSchema().dump(set_thresholds(current_user.org_unit, body, current_user)))


@blueprint.get("/exports")
@requires(Permission.EXPORTS_REQUEST)
def data_exports():
    """De-identified exports I asked for, or of my unit and below (newest first).
    ---
    get:
      summary: De-identified exports (M-24)
      parameters:
        - {in: query, name: before, schema: {type: integer, minimum: 1}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: ExportPageSchema}}
    """
    before = forms.int_field("before", default=0, minimum=0) or None
    rows, next_before = exports_page(current_user, before=before)
    return jsonify(ExportPageSchema().dump({"exports": rows, "next_before": next_before}))


@blueprint.post("/exports")
@requires(Permission.EXPORTS_REQUEST)
def data_export_request():
    """Ask for a de-identified export (a county-level unit must approve it).
    ---
    post:
      summary: Ask for an export
      requestBody:
        content: {application/json: {schema: ExportRequestSchema}}
      responses:
        201:
          description: Requested
          content: {application/json: {schema: ExportSchema}}
        400:
          description: No purpose or recipient, or a scope outside your unit (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    body, problem = _json_body(ExportRequestSchema())
    if problem is not None:
        return problem
    return jsonify(ExportSchema().dump(request_export(current_user, **body))), 201


@blueprint.post("/exports/<int:export_id>/decision")
@requires(Permission.EXPORTS_APPROVE)
def data_export_decide(export_id: int):
    """Approve or refuse an export (county level or above, not the requester; audited).
    ---
    post:
      summary: Decide on an export
      parameters:
        - {in: path, name: export_id, required: true, schema: {type: integer}}
      requestBody:
        content: {application/json: {schema: ExportDecisionSchema}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: ExportSchema}}
        400:
          description: Not allowed to decide, or already decided (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    body, problem = _json_body(ExportDecisionSchema())
    if problem is not None:
        return problem
    export = decide_export(current_user, export_id, approve=body["approve"], note=body["note"])
    return jsonify(ExportSchema().dump(export))


@blueprint.get("/exports/<int:export_id>/content")
@requires(Permission.EXPORTS_REQUEST)
def data_export_content(export_id: int):
    """The produced, de-identified content with its suppression statement (audited).
    ---
    get:
      summary: Download an export
      parameters:
        - {in: path, name: export_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: {type: object}}}
        404:
          description: Not found or not produced yet (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    return jsonify(download_export(current_user, export_id))


@blueprint.get("/me/children/<int:student_id>/copies")
@requires(Permission.CHILDREN_READ)
def my_child_copies(student_id: int):
    """My copies of everything the portal holds about my child (waiting or still offered).
    ---
    get:
      summary: My copies of my child's data
      parameters:
        - {in: path, name: student_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: OK
          content:
            application/json:
              schema: {type: object, properties: {copies: {type: array, items: FamilyCopySchema}}}
        404:
          description: Not found or not your child (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    student = get_visible_student(current_user, student_id)
    return jsonify(copies=FamilyCopySchema(many=True).dump(copies_of(current_user, student)))


@blueprint.post("/me/children/<int:student_id>/copies")
@requires(Permission.CHILDREN_READ)
def my_child_copy_request(student_id: int):
    """Ask for a copy (JSON and PDF), produced in the background and offered for a limited time.
    ---
    post:
      summary: Ask for a copy of my child's data
      parameters:
        - {in: path, name: student_id, required: true, schema: {type: integer}}
      responses:
        202:
          description: Queued
          content: {application/json: {schema: FamilyCopySchema}}
    """
    student = get_visible_student(current_user, student_id)
    return jsonify(FamilyCopySchema().dump(request_copy(current_user, student))), 202


@blueprint.get("/me/children/<int:student_id>/copies/<int:copy_id>")
@requires(Permission.CHILDREN_READ)
def my_child_copy(student_id: int, copy_id: int):
    """The copy's content as JSON: record, history, requests, evidence, guardians, access log.
    ---
    get:
      summary: Download a copy (JSON; the PDF is at /children/{student_id}/copy/{copy_id}/pdf)
      parameters:
        - {in: path, name: student_id, required: true, schema: {type: integer}}
        - {in: path, name: copy_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: {type: object}}}
        404:
          description: Not ready, expired or not yours (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    student = get_visible_student(current_user, student_id)
    return jsonify(get_copy(current_user, student, copy_id).content)
