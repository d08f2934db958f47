"""Schemas of the request endpoints: cases, steps, the queue, early warning, and the bodies
a phone app sends. Dump schemas take ready objects (no database work, no rights checks)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from portal.approvals.kinds import case_kind_label, step_role_label
from portal.registry.masking import mask_student_number
from portal.requests.service import Action, QueueFilter


class KindSchema(Schema):
    name = fields.String()
    label = fields.Function(lambda kind: str(kind.label))


class CaseStepSchema(Schema):
    """One party of a case: a unit and its role, never a person."""

    id = fields.Integer()
    position = fields.Integer()
    role = fields.String()
    role_label = fields.Function(lambda step: step_role_label(step.role))
    mode = fields.String(metadata={"description": "decision | filing"})
    unit = fields.Function(lambda step: step.org_unit.name)
    state = fields.String()
    state_label = fields.Function(lambda step: step.state_enum.label)
    due_on = fields.Date(allow_none=True)
    due_awaits_calendar_year = fields.Integer(allow_none=True)
    overdue_since = fields.Date(allow_none=True)
    working_days_left = fields.Integer(
        allow_none=True, metadata={"description": "working days to the deadline; null when none runs"}
    )
    decided_at = fields.DateTime(allow_none=True)
    reason = fields.String(metadata={"description": "a rejection's reason, or what is missing when returned"})


class CaseSummarySchema(Schema):
    id = fields.Integer()
    reference = fields.String(metadata={"description": "what the family quotes, e.g. XJ-2026-000123"})
    kind = fields.String()
    kind_label = fields.Function(lambda case: case_kind_label(case.kind))
    state = fields.String(metadata={"description": "open | returned | approved | rejected | withdrawn"})
    state_label = fields.Function(lambda case: case.state_enum.label)
    student_id = fields.Integer()
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class CaseDetailSchema(CaseSummarySchema):
    reason = fields.Function(lambda case: case.payload.get("reason", ""))
    return_on = fields.Function(
        lambda case: case.payload.get("return_on"), metadata={"type": ["string", "null"], "format": "date"}
    )
    evidence = fields.Function(
        lambda case: case.payload.get("evidence", []),
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "GET /evidence/{ref} (HTML site)",
        },
    )
    resubmission_notes = fields.Function(
        lambda case: case.payload.get("resubmission_notes", []),
        metadata={"type": "array", "items": {"type": "string"}},
    )
    steps = fields.List(fields.Nested(CaseStepSchema))
    can_withdraw = fields.Boolean(metadata={"description": "you may withdraw it now"})


def dump_case(case, *, calendar, today, can_withdraw: bool) -> dict:
    """A case with each running step's working days left (computed here, not by the schema)."""
    data = CaseDetailSchema().dump(case)
    for step, dumped in zip(case.steps, data["steps"], strict=True):
        running = step.state == "pending" and step.due_on is not None and step.due_on >= today
        dumped["working_days_left"] = calendar.working_days_between(today, step.due_on) if running else None
    data["can_withdraw"] = can_withdraw
    return data


class CaseListSchema(Schema):
    cases = fields.List(fields.Nested(CaseSummarySchema))
    can_start = fields.List(fields.Nested(KindSchema), metadata={"description": "kinds one may start now"})


class QueueStudentSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    student_number = fields.Function(lambda s: mask_student_number(s.student_number))
    grade = fields.Integer()
    grade_label = fields.String()
    status = fields.String()


class QueueItemSchema(Schema):
    step_id = fields.Function(lambda step: step.id, metadata={"type": "integer"})
    case_id = fields.Function(lambda step: step.case_id, metadata={"type": "integer"})
    reference = fields.Function(lambda step: step.case.reference, metadata={"type": "string"})
    kind = fields.Function(lambda step: step.case.kind, metadata={"type": "string"})
    kind_label = fields.Function(lambda step: case_kind_label(step.case.kind), metadata={"type": "string"})
    role = fields.String()
    mode = fields.String()
    state = fields.String()
    due_on = fields.Date(allow_none=True)
    overdue_since = fields.Date(allow_none=True)
    student = fields.Function(
        lambda step: QueueStudentSchema().dump(step.case.student), metadata={"type": "object"}
    )


class QueuePageSchema(Schema):
    items = fields.Function(
        lambda page: QueueItemSchema(many=True).dump(page.steps), metadata={"type": "array"}
    )
    counts = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "pending per kind"}
    )
    total = fields.Integer()
    overdue = fields.Integer()
    returned = fields.Integer()
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "pass as `cursor` for the next page; null on the last"}
    )


class StepDetailSchema(Schema):
    step = fields.Nested(CaseStepSchema)
    case = fields.Nested(CaseDetailSchema)
    student = fields.Nested(QueueStudentSchema)
    is_filing = fields.Boolean(metadata={"description": "only `file` is possible"})
    is_requester = fields.Boolean(metadata={"description": "you started it: you may not decide"})
    decide_path = fields.String(metadata={"description": "where to post the decision"})


class EarlyWarningStepSchema(Schema):
    step_id = fields.Function(lambda step: step.id, metadata={"type": "integer"})
    reference = fields.Function(lambda step: step.case.reference, metadata={"type": "string"})
    kind = fields.Function(lambda step: step.case.kind, metadata={"type": "string"})
    unit = fields.Function(lambda step: step.org_unit.name, metadata={"type": "string"})
    role = fields.String()
    due_on = fields.Date(allow_none=True)
    overdue_since = fields.Date(allow_none=True)


class AlertSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    created_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    step = fields.Function(
        lambda alert: EarlyWarningStepSchema().dump(alert.step), metadata={"type": "object"}
    )


class EarlyWarningSchema(Schema):
    overdue = fields.List(fields.Nested(EarlyWarningStepSchema))
    soon = fields.List(
        fields.Nested(EarlyWarningStepSchema),
        metadata={"description": "due within 5 working days (the province's calendar)"},
    )
    alerts = fields.List(fields.Nested(AlertSchema))


class EvidenceSchema(Schema):
    id = fields.String(metadata={"description": "the reference to put in `evidence`"})
    content_type = fields.String()
    size = fields.Integer()


# --- bodies -------------------------------------------------------------------------------


class OpenCaseBody(Schema):
    kind = fields.String(
        required=True, metadata={"description": "suspension | resumption | withdrawal | abroad …"}
    )
    reason = fields.String(required=True, validate=validate.Length(max=500))
    return_on = fields.Date(metadata={"description": "suspension: the planned date of return"})
    evidence = fields.List(
        fields.String(), load_default=list, metadata={"description": "references from POST /evidence"}
    )


class ResubmitBody(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=500))
    evidence = fields.List(fields.String(), load_default=list)


class WithdrawBody(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class DecisionBody(Schema):
    action = fields.String(required=True, validate=validate.OneOf(Action.ALL))
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=500),
        metadata={"description": "required to reject; what is missing to return"},
    )
    grade = fields.Integer(
        load_default=None,
        strict=True,
        metadata={
            "description": "approving a resumption: the grade the student returns to (default: "
            "the grade on record); a transfer's receiving school accepts with "
            "POST /staff/transfer-steps/{step_id}/accept"
        },
    )


QUEUE_SHOW = QueueFilter.ALL
