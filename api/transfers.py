"""Transfers as JSON: what only a transfer has (search a school, apply, accept with grade and
class, progress, paper transfers, archives). Withdrawing, resubmitting, returning and rejecting
are the generic case verbs of api/requests.py, for transfers as for every kind; the older
transfer URLs for them still answer, through those same verbs.
"""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from api import blueprint
from api.bodies import json_body
from api.errors import problem_response
from api.requests import decide_step, resubmit_case, store_evidence, withdraw_case
from api.transfer_schemas import (
    PaperTransferSchema,
    SchoolSchema,
    TransferAcceptSchema,
    TransferApplySchema,
    TransferArchiveSchema,
    TransferDecisionSchema,
    TransferSchema,
    TransferStepSchema,
)
from portal.errors import NotFound
from portal.requests.service import Action, step_for_staff
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student
from portal.transfers import service
from portal.transfers.kind import TRANSFER


def _progress(case_id: int, status: int = 200):
    return jsonify(TransferSchema().dump(service.progress_of(service.load_transfer(case_id)))), status


@blueprint.get("/children/<int:student_id>/transfer-schools")
@requires(Permission.TRANSFERS_APPLY)
def transfer_schools(student_id: int):
    """Schools the child may transfer to.
    ---
    get:
      summary: Search receiving schools (any province, the child's stage only)
      parameters:
        - {in: query, name: q, required: true, description: "part of the name, or the start of the code",
           schema: {type: string, maxLength: 50}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: {type: array, items: SchoolSchema}}}
        404: {description: "Not your child"}
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
      requestBody:
        required: true
        content: {application/json: {schema: TransferApplySchema}}
      responses:
        201:
          description: Applied; the receiving school reviews first
          content: {application/json: {schema: TransferSchema}}
        409: {description: "Refused: transfer.already_open, transfer.same_school, transfer.wrong_stage,
          transfer.outside_window, transfer.status_not_allowed"}
    """
    data = json_body(TransferApplySchema())
    student = get_visible_student(current_user, student_id)
    case = service.apply_for_transfer(student, current_user, **data)
    return _progress(case.id, 201)


@blueprint.get("/transfers/<int:case_id>")
@requires(Permission.CHILDREN_READ)
def transfer_progress(case_id: int):
    """The family's view of one transfer: every party, its state and deadline.
    ---
    get:
      summary: Transfer progress
      responses:
        200:
          description: OK
          content: {application/json: {schema: TransferSchema}}
        404: {description: "Not found or not your child's"}
    """
    case = service.transfer_for_family(current_user, case_id)
    return jsonify(TransferSchema().dump(service.progress_of(case)))


@blueprint.post("/transfers/<int:case_id>/withdraw")
@requires(Permission.TRANSFERS_APPLY)
def transfer_withdraw(case_id: int):
    """Withdraw, until a party approved (the generic withdrawal, answered as a transfer).
    ---
    post:
      summary: Withdraw the application (older URL of POST /cases/{case_id}/withdraw)
      deprecated: true
      requestBody:
        content: {application/json: {schema: WithdrawBody}}
      responses:
        200:
          description: Withdrawn
          content: {application/json: {schema: TransferSchema}}
        409: {description: case.cannot_withdraw}
    """
    return _progress(withdraw_case(case_id).id)


@blueprint.post("/transfers/<int:case_id>/resubmit")
@requires(Permission.TRANSFERS_APPLY)
def transfer_resubmit(case_id: int):
    """Add what a party asked for; the same party reviews again with a fresh deadline.
    ---
    post:
      summary: Resubmit a returned application (older URL of POST /cases/{case_id}/resubmit)
      deprecated: true
      requestBody:
        required: true
        content: {application/json: {schema: ResubmitBody}}
      responses:
        200:
          description: Resubmitted
          content: {application/json: {schema: TransferSchema}}
        409: {description: case.not_returned}
    """
    return _progress(resubmit_case(case_id).id)


@blueprint.post("/transfer-evidence")
@requires(Permission.TRANSFERS_APPLY)
def transfer_evidence():
    """Upload one document (a photo or a PDF) to attach to an application by its id.
    ---
    post:
      summary: Upload a document (older URL of POST /evidence; header X-Xueji-Client required)
      deprecated: true
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
          content: {application/json: {schema: EvidenceSchema}}
        400: {description: "request.client_header_required, evidence.unsupported_type, evidence.missing_file"}
    """
    # A custom header cannot be sent cross-site without a preflight, which is never granted.
    if not request.headers.get("X-Xueji-Client"):
        abort(
            problem_response(
                400, "request.client_header_required", str(_l("Send the X-Xueji-Client header."))
            )
        )
    return store_evidence()


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


def _own_step(step_id: int):
    step = step_for_staff(current_user, step_id)
    if step.case.kind != TRANSFER:
        raise NotFound("step.not_found", _l("No such step waiting for your unit."))
    return step


@blueprint.get("/staff/transfer-steps/<int:step_id>")
@requires(Permission.CASES_DECIDE)
def transfer_step(step_id: int):
    """The transfer a step of my unit belongs to: both schools, route, evidence.
    ---
    get:
      summary: One transfer step's case
      responses:
        200:
          description: OK
          content: {application/json: {schema: TransferSchema}}
        404: {description: Not a step of your unit}
    """
    return _progress(_own_step(step_id).case_id)


@blueprint.post("/staff/transfer-steps/<int:step_id>/accept")
@requires(Permission.CASES_DECIDE)
def transfer_accept(step_id: int):
    """The receiving school accepts and places the child (grade, class). Every other decision,
    and every other party's approval, is POST /steps/{step_id}/decision.
    ---
    post:
      summary: Accept a transfer into my school
      requestBody:
        required: true
        content: {application/json: {schema: TransferAcceptSchema}}
      responses:
        200:
          description: Accepted; the next party reviews
          content: {application/json: {schema: TransferSchema}}
        409: {description: "step.already_decided and other refusals"}
    """
    placement = json_body(TransferAcceptSchema())
    return _progress(decide_step(_own_step(step_id).id, Action.APPROVE, "", placement).id)


@blueprint.post("/staff/transfer-steps/<int:step_id>/decision")
@requires(Permission.CASES_DECIDE)
def transfer_decide(step_id: int):
    """Approve (the receiving school places the child), reject with a reason, or return.
    ---
    post:
      summary: Decide a transfer step (older URL of POST /steps/{step_id}/decision and …/accept)
      deprecated: true
      requestBody:
        required: true
        content: {application/json: {schema: TransferDecisionSchema}}
      responses:
        200:
          description: Decided
          content: {application/json: {schema: TransferSchema}}
        409: {description: "step.already_decided and other refusals"}
    """
    data = json_body(TransferDecisionSchema())
    placement = {"grade": data["grade"], "class_name": data["class_name"]}
    return _progress(decide_step(_own_step(step_id).id, data["action"], data["reason"], placement).id)


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
        409: {description: "Refused at the door"}
    """
    data = json_body(PaperTransferSchema())
    case = service.record_paper_transfer(
        data["student_number"],
        current_user,
        to_school_id=service.school_id_by_code(data["to_school_code"]),
        paper_reference=data["paper_reference"],
        paper_date=data["paper_date"],
        reason=data["reason"],
        reason_text=data["reason_text"],
    )
    return _progress(case.id, 201)


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
