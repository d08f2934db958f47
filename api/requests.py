"""Requests as JSON: everything the request pages do, for a phone app.

Families: the cases of a child, opening one (with an `Idempotency-Key` header: a retried
tap finds the first case), one case with its parties and deadlines, resubmitting, withdrawing;
uploading evidence. Staff: the unit's queue (keyset), one step, the decision, opening a
case from a paper form; county and city units: early warning and alerts.
Writes take JSON bodies (a form from another site cannot send one).
"""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from api import blueprint
from api.bodies import json_body
from api.request_schemas import (
    AlertSchema,
    CaseListSchema,
    DecisionBody,
    EarlyWarningSchema,
    EvidenceSchema,
    OpenCaseBody,
    QueuePageSchema,
    ResubmitBody,
    StepDetailSchema,
    WithdrawBody,
    dump_case,
)
from portal.approvals import engine
from portal.approvals.models import Case
from portal.errors import ValidationFailed
from portal.evidence.service import check_references, store_upload
from portal.guardians.overview import child_overview
from portal.requests import service
from portal.requests.service import QueueFilter
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _case_json(case: Case, status: int = 200, *, deciding: bool = False):
    """The case as it stands now (`deciding`: answered to the unit that decided a step)."""
    page = service.case_page(case)
    can_withdraw = not deciding and service.can_withdraw(case, current_user)
    data = dump_case(case, calendar=page["calendar"], today=page["today"], can_withdraw=can_withdraw)
    return jsonify(data), status


# The generic case verbs, one implementation for every kind (transfers too: api/transfers.py
# answers its older URLs through these). Each returns the case; the route picks the answer.


def resubmit_case(case_id: int) -> Case:
    case = service.case_for_family(current_user, case_id)
    body = json_body(ResubmitBody())
    evidence = check_references(body["evidence"], current_user, already=case.payload.get("evidence", []))
    return service.resubmit(current_user, case, body["note"], evidence)


def withdraw_case(case_id: int) -> Case:
    case = service.case_for_family(current_user, case_id)
    engine.withdraw(case.id, current_user, reason=json_body(WithdrawBody())["reason"])
    return case


def decide_step(step_id: int, action: str, reason: str, details: dict | None = None) -> Case:
    found = service.step_for_staff(current_user, step_id)
    service.act_on_step(current_user, found.id, action, reason.strip(), details)
    return found.case


def _open(student, body: dict):
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()[:40]
    key = f"{current_user.id}:{key}" if key else None
    existing = service.case_for_key(key, current_user)
    if existing is not None:
        return _case_json(existing, 200)
    kind = service.startable_kind(body["kind"], student, current_user)
    evidence = check_references(body["evidence"], current_user)
    return_on = body["return_on"].isoformat() if body.get("return_on") else ""
    payload = service.status_payload(kind.name, body["reason"].strip(), return_on, evidence)
    case = engine.open_case(kind.name, student, current_user, payload, idempotency_key=key)
    return _case_json(case, 201)


# --- families ---------------------------------------------------------------------------


@blueprint.get("/me/children/<int:student_id>/cases")
@requires(Permission.CHILDREN_READ)
def child_cases(student_id: int):
    """Every request about one of my children, and what I may start now.
    ---
    get:
      summary: My child's requests
      responses:
        200:
          description: OK
          content: {application/json: {schema: CaseListSchema}}
        404: {description: "Not your child"}
    """
    overview = child_overview(get_visible_student(current_user, student_id))
    cases = overview["open_cases"] + overview["closed_cases"]
    kinds = service.kinds_offered(overview["student"], current_user)
    return jsonify(CaseListSchema().dump({"cases": cases, "can_start": kinds}))


@blueprint.post("/me/children/<int:student_id>/cases")
@requires(Permission.CHILDREN_READ)
def open_child_case(student_id: int):
    """Start a request for my child. Send an `Idempotency-Key` header: a retry finds the first case.
    ---
    post:
      summary: Start a request
      parameters:
        - {in: header, name: Idempotency-Key, schema: {type: string, maxLength: 40},
           description: "one per tap on submit; a retry with the same key returns the same case (200)"}
      requestBody:
        required: true
        content: {application/json: {schema: OpenCaseBody}}
      responses:
        201:
          description: Opened
          content: {application/json: {schema: CaseDetailSchema}}
        200:
          description: Already opened with this key
          content: {application/json: {schema: CaseDetailSchema}}
        400: {description: "Refused at the door, with the rule"}
        409: {description: "Another request is open, or the record cannot change so"}
    """
    student = get_visible_student(current_user, student_id)
    return _open(student, json_body(OpenCaseBody()))


@blueprint.get("/cases/<int:case_id>")
@requires(Permission.CHILDREN_READ)
def case_detail(case_id: int):
    """One request: its parties (unit and role), deadlines and working days left, reasons.
    ---
    get:
      summary: One of my child's requests
      responses:
        200:
          description: OK
          content: {application/json: {schema: CaseDetailSchema}}
        404: {description: "Not found or not yours"}
    """
    return _case_json(service.case_for_family(current_user, case_id))


@blueprint.post("/cases/<int:case_id>/resubmit")
@requires(Permission.CHILDREN_READ)
def case_resubmit(case_id: int):
    """Add what was missing to a returned request and send it back.
    ---
    post:
      summary: Resubmit a returned request
      requestBody:
        required: true
        content: {application/json: {schema: ResubmitBody}}
      responses:
        200:
          description: Resubmitted
          content: {application/json: {schema: CaseDetailSchema}}
        409: {description: "Not returned"}
    """
    return _case_json(resubmit_case(case_id))


@blueprint.post("/cases/<int:case_id>/withdraw")
@requires(Permission.CHILDREN_READ)
def case_withdraw(case_id: int):
    """Withdraw my request while no party has decided (repeating it is harmless).
    ---
    post:
      summary: Withdraw a request
      requestBody:
        content: {application/json: {schema: WithdrawBody}}
      responses:
        200:
          description: Withdrawn
          content: {application/json: {schema: CaseDetailSchema}}
        409: {description: "A party has decided"}
    """
    return _case_json(withdraw_case(case_id))


@blueprint.post("/evidence")
@requires(Permission.SIGNED_IN)
def upload_evidence():
    """Upload one document (multipart field `file`); put the returned id in `evidence`.
    ---
    post:
      summary: Upload a document (JPEG, PNG, HEIC or PDF; judged by content)
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {type: object, properties: {file: {type: string, format: binary}}}
      responses:
        201:
          description: Stored
          content: {application/json: {schema: EvidenceSchema}}
        400: {description: "Unsupported, unreadable"}
        413: {description: "Too large"}
    """
    return store_evidence()


def store_evidence():
    """The one evidence upload (the older transfer URL answers through it too)."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("evidence.missing_file", _l("Please attach a file."))
    return jsonify(EvidenceSchema().dump(store_upload(upload, uploader=current_user))), 201


# --- staff --------------------------------------------------------------------------------


@blueprint.get("/queue")
@requires(Permission.CASES_DECIDE)
def queue():
    """The steps waiting on my unit, every kind together, soonest due first (keyset).
    ---
    get:
      summary: My unit's approval queue
      parameters:
        - {in: query, name: kind, schema: {type: string}}
        - {in: query, name: show, schema: {type: string, enum: [pending, overdue, returned]}}
        - {in: query, name: cursor, schema: {type: string}, description: "next_cursor of the previous page"}
      responses:
        200:
          description: OK
          content: {application/json: {schema: QueuePageSchema}}
    """
    show = request.args.get("show", QueueFilter.PENDING)
    if show not in QueueFilter.ALL:
        raise ValidationFailed("queue.bad_filter", _l("This page link is not valid."))
    page = service.queue_page(
        current_user,
        kind=request.args.get("kind", "")[:30],
        show=show,
        after=request.args.get("cursor", "")[:40],
    )
    return jsonify(QueuePageSchema().dump(page))


@blueprint.get("/steps/<int:step_id>")
@requires(Permission.CASES_DECIDE)
def step_detail(step_id: int):
    """One step of my unit, with the request and the student (the reading is audited).
    ---
    get:
      summary: One step
      responses:
        200:
          description: OK
          content: {application/json: {schema: StepDetailSchema}}
        404: {description: "Not my unit's"}
    """
    page = service.step_page(current_user, service.step_for_staff(current_user, step_id))
    case_data = dump_case(page["case"], calendar=page["calendar"], today=page["today"], can_withdraw=False)
    step_data = next(s for s in case_data["steps"] if s["id"] == step_id)
    decide_path = url_for("api.step_decision", step_id=step_id)  # every kind's, transfers' too
    data = StepDetailSchema().dump(
        {
            "student": page["student"],
            "is_filing": page["is_filing"],
            "is_requester": page["is_requester"],
            "decide_path": decide_path,
        }
    )
    data.update(step=step_data, case=case_data)
    return jsonify(data)


@blueprint.post("/steps/<int:step_id>/decision")
@requires(Permission.CASES_DECIDE)
def step_decision(step_id: int):
    """Decide one step: approve, reject (reason), return for more material (what is missing), file.
    ---
    post:
      summary: Decide a step
      requestBody:
        required: true
        content: {application/json: {schema: DecisionBody}}
      responses:
        200:
          description: Decided; the case as it stands now
          content: {application/json: {schema: CaseDetailSchema}}
        404: {description: "Not my unit's"}
        409: {description: "Already decided, a filing cannot be rejected, or I started the case"}
    """
    body = json_body(DecisionBody())
    details = {"grade": body["grade"]} if body.get("grade") is not None else None
    return _case_json(decide_step(step_id, body["action"], body["reason"], details), deciding=True)


@blueprint.post("/students/<int:student_id>/cases")
@requires(Permission.REQUESTS_START)
def open_case_for_family(student_id: int):
    """Start a request from a family's paper form (a colleague decides it). Idempotency-Key as above.
    ---
    post:
      summary: Start a request on a family's behalf
      parameters:
        - {in: header, name: Idempotency-Key, schema: {type: string, maxLength: 40}}
      requestBody:
        required: true
        content: {application/json: {schema: OpenCaseBody}}
      responses:
        201:
          description: Opened
          content: {application/json: {schema: CaseDetailSchema}}
        200:
          description: Already opened with this key
          content: {application/json: {schema: CaseDetailSchema}}
    """
    student = service.student_for_staff_start(current_user, student_id)
    return _open(student, json_body(OpenCaseBody()))


@blueprint.get("/early-warning")
@requires(Permission.ALERTS_READ)
def early_warning():
    """Overdue and soon-due steps in my area, and the alerts to my unit (M-23).
    ---
    get:
      summary: Early warning
      responses:
        200:
          description: OK
          content: {application/json: {schema: EarlyWarningSchema}}
    """
    return jsonify(EarlyWarningSchema().dump(service.early_warning(current_user)))


@blueprint.post("/alerts/<int:alert_id>/acknowledge")
@requires(Permission.ALERTS_READ)
def alert_acknowledge(alert_id: int):
    """Acknowledge an alert to my unit (audited; repeating it is harmless).
    ---
    post:
      summary: Acknowledge an alert
      responses:
        200:
          description: OK
          content: {application/json: {schema: AlertSchema}}
        404: {description: "Not my unit's"}
    """
    return jsonify(AlertSchema().dump(service.acknowledge_alert(current_user, alert_id)))
