"""Transfers as JSON: a phone app can drive the whole journey (apply, follow, decide, archive).

Writes take a JSON body only: a cross-site form cannot send one without a preflight, which
this API never grants (the blueprint is exempt from the form CSRF token).
"""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import Schema, ValidationError

from api import blueprint
from api.errors import problem_response
from api.transfer_schemas import (
    EvidenceRefSchema,
    PaperTransferSchema,
    SchoolSchema,
    TransferApplySchema,
    TransferArchiveSchema,
    TransferDecisionSchema,
    TransferResubmitSchema,
    TransferSchema,
    TransferStepSchema,
    TransferWithdrawSchema,
)
from portal.approvals import engine
from portal.approvals.models import Step
from portal.errors import NotFound, ValidationFailed
from portal.evidence.service import store_upload
from portal.extensions import db
from portal.security.permissions import Permission, requires
from portal.security.scope import can_act_for_unit, get_visible_student
from portal.transfers import service


def _body(schema: Schema) -> dict:
    if not request.is_json:
        abort(problem_response(415, "request.json_required", str(_l("Send a JSON body."))))
    try:
        return schema.load(request.get_json(silent=True) or {})
    except ValidationError as error:
        fields = ", ".join(sorted(error.messages))
        raise ValidationFailed(
            "request.invalid_body", _l("Please check: %(fields)s."), fields=fields
        ) from None


def _progress(case_id: int):
    return jsonify(TransferSchema().dump(service.progress_of(service.load_transfer(case_id))))


@blueprint.get("/children/<int:student_id>/transfer-schools")
@requires(Permission.TRANSFERS_APPLY)
def transfer_schools(student_id: int):
    """Schools the child may transfer to.
    ---
    get:
      summary: Search receiving schools (any province, the child's stage only)
      parameters:
        - {in: path, name: student_id, required: true, schema: {type: integer}}
        - {in: query, name: q, required: true, description: "part of the name, or the start of the code",
           schema: {type: string, maxLength: 50}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: {type: array, items: SchoolSchema}}}
        404:
          description: Not your child (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    student = get_visible_student(current_user, student_id)
    schools = service.receiving_schools(student, request.args.get("q", "")[:50])
    return jsonify(SchoolSchema(many=True).dump(schools))


@blueprint.post("/children/<int:student_id>/transfers")
@requires(Permission.TRANSFERS_APPLY)
def transfer_apply(student_id: int):
    """Apply to a receiving school.
    ---
    post:
      summary: Apply for a transfer (refusals at the door carry a stable code)
      parameters:
        - {in: path, name: student_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content: {application/json: {schema: TransferApplySchema}}
      responses:
        201:
          description: Applied; the receiving school reviews first
          content: {application/json: {schema: TransferSchema}}
        409:
          description: "Refused: transfer.already_open, transfer.same_school, transfer.wrong_stage,
            transfer.outside_window, transfer.status_not_allowed (problem+json)"
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    data = _body(TransferApplySchema())
    student = get_visible_student(current_user, student_id)
    case = service.apply_for_transfer(student, current_user, **data)
    response = _progress(case.id)
    response.status_code = 201
    return response


@blueprint.get("/transfers/<int:case_id>")
@requires(Permission.CHILDREN_READ)
def transfer_progress(case_id: int):
    """The family's view of one transfer: every party, its state and deadline.
    ---
    get:
      summary: Transfer progress
      parameters:
        - {in: path, name: case_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: TransferSchema}}
        404:
          description: Not found or not your child's (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    case = service.transfer_for_family(current_user, case_id)
    return jsonify(TransferSchema().dump(service.progress_of(case)))


@blueprint.post("/transfers/<int:case_id>/withdraw")
@requires(Permission.TRANSFERS_APPLY)
def transfer_withdraw(case_id: int):
    """Withdraw, until a party approved.
    ---
    post:
      summary: Withdraw the application
      parameters:
        - {in: path, name: case_id, required: true, schema: {type: integer}}
      requestBody:
        content: {application/json: {schema: TransferWithdrawSchema}}
      responses:
        200:
          description: Withdrawn
          content: {application/json: {schema: TransferSchema}}
        409:
          description: case.cannot_withdraw (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    data = _body(TransferWithdrawSchema())
    engine.withdraw(case_id, current_user, reason=data["reason"])
    return _progress(case_id)


@blueprint.post("/transfers/<int:case_id>/resubmit")
@requires(Permission.TRANSFERS_APPLY)
def transfer_resubmit(case_id: int):
    """Add what a party asked for; the same party reviews again with a fresh deadline.
    ---
    post:
      summary: Resubmit a returned application
      parameters:
        - {in: path, name: case_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content: {application/json: {schema: TransferResubmitSchema}}
      responses:
        200:
          description: Resubmitted
          content: {application/json: {schema: TransferSchema}}
        409:
          description: case.not_returned (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    data = _body(TransferResubmitSchema())
    service.add_material(case_id, current_user, note=data["note"], refs=data["evidence"])
    return _progress(case_id)


@blueprint.post("/transfer-evidence")
@requires(Permission.TRANSFERS_APPLY)
def transfer_evidence():
    """Upload one document (a photo or a PDF) to attach to an application by its id.
    ---
    post:
      summary: Upload a document (multipart, field `file`; header X-Xueji-Client required)
      parameters:
        - {in: header, name: X-Xueji-Client, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {type: object, properties: {file: {type: string, format: binary}}, required: [file]}
      responses:
        201:
          description: Stored, cleaned of metadata
          content: {application/json: {schema: EvidenceRefSchema}}
        400:
          description: evidence.unsupported_type, evidence.unreadable (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
        413:
          description: evidence.too_large (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    # A custom header cannot be sent cross-site without a preflight, which is never granted.
    if not request.headers.get("X-Xueji-Client"):
        abort(
            problem_response(
                400, "request.client_header_required", str(_l("Send the X-Xueji-Client header."))
            )
        )
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("evidence.unreadable", _l("The attached documents could not be read."))
    evidence = store_upload(upload, uploader=current_user)
    response = jsonify(EvidenceRefSchema().dump(evidence))
    response.status_code = 201
    return response


@blueprint.get("/staff/transfer-steps")
@requires(Permission.CASES_DECIDE)
def transfer_steps():
    """Transfer steps waiting on my unit, soonest deadline first.
    ---
    get:
      summary: My unit's transfer steps
      responses:
        200:
          description: OK
          content: {application/json: {schema: {type: array, items: TransferStepSchema}}}
    """
    return jsonify(TransferStepSchema(many=True).dump(service.cases_waiting_on(current_user.org_unit_id)))


def _own_step(step_id: int) -> Step:
    step = db.session.get(Step, step_id)
    if step is None or step.case.kind != "transfer" or not can_act_for_unit(current_user, step.org_unit):
        raise NotFound("step.not_found", _l("No such step waiting for your unit."))
    return step


@blueprint.get("/staff/transfer-steps/<int:step_id>")
@requires(Permission.CASES_DECIDE)
def transfer_step(step_id: int):
    """The transfer a step of my unit belongs to: both schools, route, evidence.
    ---
    get:
      summary: One transfer step's case
      parameters:
        - {in: path, name: step_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: TransferSchema}}
        404:
          description: Not a step of your unit (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    return _progress(_own_step(step_id).case_id)


@blueprint.post("/staff/transfer-steps/<int:step_id>/decision")
@requires(Permission.CASES_DECIDE)
def transfer_decide(step_id: int):
    """Approve (the receiving school places the child), reject with a reason, or return.
    ---
    post:
      summary: Decide a transfer step
      parameters:
        - {in: path, name: step_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content: {application/json: {schema: TransferDecisionSchema}}
      responses:
        200:
          description: Decided
          content: {application/json: {schema: TransferSchema}}
        409:
          description: step.already_decided and other refusals (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    data = _body(TransferDecisionSchema())
    step = _own_step(step_id)
    if data["action"] == "return":
        engine.return_case(step_id, current_user, missing=data["reason"])
    else:
        service.decide(
            step_id,
            current_user,
            approve=data["action"] == "approve",
            reason=data["reason"],
            grade=data["grade"],
            class_name=data["class_name"],
        )
    return _progress(step.case_id)


@blueprint.post("/staff/paper-transfers")
@requires(Permission.TRANSFERS_PAPER)
def transfer_paper():
    """A county records a transfer done on paper (N16); the electronic hand-over follows.
    ---
    post:
      summary: Record a paper transfer
      requestBody:
        required: true
        content: {application/json: {schema: PaperTransferSchema}}
      responses:
        201:
          description: Recorded
          content: {application/json: {schema: TransferSchema}}
        409:
          description: Refused at the door (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    data = _body(PaperTransferSchema())
    case = service.record_paper_transfer(
        data["student_number"],
        current_user,
        to_school_id=service.school_id_by_code(data["to_school_code"]),
        paper_reference=data["paper_reference"],
        paper_date=data["paper_date"],
        reason=data["reason"],
        reason_text=data["reason_text"],
    )
    response = _progress(case.id)
    response.status_code = 201
    return response


@blueprint.get("/staff/transfer-archives")
@requires(Permission.STUDENTS_READ)
def transfer_archives():
    """Read-only copies of records transferred away from my school (M-15).
    ---
    get:
      summary: My school's archived copies
      responses:
        200:
          description: OK
          content: {application/json: {schema: {type: array, items: TransferArchiveSchema}}}
    """
    return jsonify(TransferArchiveSchema(many=True).dump(service.archives_of(current_user)))
