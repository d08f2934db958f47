"""Corrections as JSON: propose, read, resubmit, decide (evidence: `POST /evidence`, api/requests.py)."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError

from api import blueprint
from api.corrections_schemas import (
    CorrectionDecisionSchema,
    CorrectionRequestSchema,
    CorrectionSchema,
    ResubmissionSchema,
)
from portal.corrections import service
from portal.errors import ValidationFailed
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student


def _load(schema):
    try:
        return schema.load(request.get_json(silent=True) or {})
    except ValidationError as error:
        raise ValidationFailed(
            "request.invalid", _l("Please check the values entered."), fields=error.messages
        ) from None


@blueprint.post("/students/<int:student_id>/corrections")
@requires(Permission.CORRECTIONS_PROPOSE)
def propose_correction(student_id: int):
    """Propose a correction of a child's registry details.
    ---
    post:
      summary: Propose a correction (key fields go school → county)
      parameters:
        - {in: path, name: student_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content: {application/json: {schema: CorrectionRequestSchema}}
      responses:
        201:
          description: The case opened (or the one this idempotency key already opened)
          content: {application/json: {schema: CorrectionSchema}}
        400:
          description: Refused by a check of enrolment, or nothing changes (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
        404:
          description: Not your child / not in your scope (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
        409:
          description: Another correction is open, or a duplicate record (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    student = get_visible_student(current_user, student_id)
    data = _load(CorrectionRequestSchema())
    case = service.propose(
        student,
        current_user,
        data["changes"],
        reason=data["reason"],
        evidence=data["evidence"],
        key=data["idempotency_key"],
    )
    return jsonify(CorrectionSchema().dump(case)), 201


@blueprint.get("/corrections/<int:case_id>")
@requires(Permission.SIGNED_IN)
def correction(case_id: int):
    """One correction: current and proposed values, declined fields, steps.
    ---
    get:
      summary: A correction request
      parameters:
        - {in: path, name: case_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: OK
          content: {application/json: {schema: CorrectionSchema}}
        404:
          description: Not found or not visible to you (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    return jsonify(CorrectionSchema().dump(service.correction_case_for(current_user, case_id)))


@blueprint.post("/corrections/<int:case_id>/resubmission")
@requires(Permission.CORRECTIONS_PROPOSE)
def resubmit_correction(case_id: int):
    """Add what was asked for and send a returned correction again.
    ---
    post:
      summary: Resubmit a returned correction
      parameters:
        - {in: path, name: case_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content: {application/json: {schema: ResubmissionSchema}}
      responses:
        200:
          description: Back with the same unit
          content: {application/json: {schema: CorrectionSchema}}
        404:
          description: Not your request (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
        409:
          description: Not returned (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    data = _load(ResubmissionSchema())
    case = service.resubmit(case_id, current_user, note=data["note"], evidence=data["evidence"])
    return jsonify(CorrectionSchema().dump(case))


@blueprint.post("/correction-steps/<int:step_id>/decision")
@requires(Permission.CASES_DECIDE)
def decide_correction(step_id: int):
    """Decide a correction step: approve all or some fields, return, or reject.
    ---
    post:
      summary: Decide a correction step
      parameters:
        - {in: path, name: step_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content: {application/json: {schema: CorrectionDecisionSchema}}
      responses:
        200:
          description: Decided
          content: {application/json: {schema: CorrectionSchema}}
        400:
          description: A reason is missing, or the approved part is not a valid record (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
        404:
          description: Not a step of your unit (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
        409:
          description: Already decided, or you started it (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    step = service.step_for_staff(current_user, step_id)
    data = _load(CorrectionDecisionSchema())
    service.decide(
        step.id, current_user, action=data["action"], fields=data["fields_"], reason=data["reason"]
    )
    return jsonify(CorrectionSchema().dump(step.case))
