"""Transfer schemas: load (what a phone app sends) and dump (what it reads), per audience."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from portal.registry.masking import mask_document_number, mask_student_number
from portal.transfers.kind import REASONS


class TransferApplySchema(Schema):
    to_school_id = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True, validate=validate.OneOf(list(REASONS)))
    reason_text = fields.String(load_default="", validate=validate.Length(max=500))
    evidence = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    idempotency_key = fields.String(
        load_default=None, validate=validate.Length(max=64), metadata={"description": "repeat it on a retry"}
    )


class TransferAcceptSchema(Schema):
    """The receiving school's placement of the child when it accepts."""

    grade = fields.Integer(
        load_default=None, strict=True, metadata={"description": "default: the child's grade now"}
    )
    class_name = fields.String(required=True, validate=validate.Length(min=1, max=20))


class TransferDecisionSchema(TransferAcceptSchema):
    """The older decision body (POST /staff/transfer-steps/{step_id}/decision)."""

    action = fields.String(required=True, validate=validate.OneOf(["approve", "reject", "return"]))
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=500),
        metadata={"description": "required to reject or return; the family reads it"},
    )
    class_name = fields.String(
        load_default="", validate=validate.Length(max=20), metadata={"description": "receiving school"}
    )


class PaperTransferSchema(Schema):
    student_number = fields.String(required=True, validate=validate.Length(min=1, max=19))
    to_school_code = fields.String(required=True, validate=validate.Length(min=1, max=12))
    paper_reference = fields.String(required=True, validate=validate.Length(min=1, max=50))
    paper_date = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(list(REASONS)))
    reason_text = fields.String(load_default="", validate=validate.Length(max=500))


class SchoolSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    stage = fields.String()


class TransferPartySchema(Schema):
    position = fields.Function(lambda p: p.step.position, metadata={"type": "integer"})
    step_id = fields.Function(lambda p: p.step.id, metadata={"type": "integer"})
    role = fields.Function(lambda p: p.step.role, metadata={"type": "string"})
    unit = fields.Function(lambda p: p.step.org_unit.name, metadata={"type": "string"})
    mode = fields.Function(lambda p: p.step.mode, metadata={"type": "string"})
    state = fields.Function(
        lambda p: p.step.state,
        metadata={
            "type": "string",
            "enum": [
                "waiting",
                "pending",
                "approved",
                "returned",
                "rejected",
                "timed_out",
                "filed",
                "skipped",
                "withdrawn",
            ],
        },
    )
    state_label = fields.String()
    acted_by = fields.String(allow_none=True, metadata={"description": "unit and role, never a name"})
    decided_at = fields.Function(
        lambda p: p.step.decided_at.isoformat() if p.step.decided_at else None,
        metadata={"type": ["string", "null"], "format": "date-time"},
    )
    reason = fields.Function(lambda p: p.step.reason or None, metadata={"type": ["string", "null"]})
    due_on = fields.Function(
        lambda p: p.step.due_on.isoformat() if p.step.due_on else None,
        metadata={"type": ["string", "null"], "format": "date"},
    )
    due_awaits_calendar_year = fields.Function(
        lambda p: p.step.due_awaits_calendar_year, metadata={"type": ["integer", "null"]}
    )
    working_days_left = fields.Integer(attribute="days_left", allow_none=True)
    working_days_limit = fields.Function(lambda p: p.step.working_days, metadata={"type": "integer"})
    is_national_limit = fields.Boolean()
    overdue_since = fields.Function(
        lambda p: p.step.overdue_since.isoformat() if p.step.overdue_since else None,
        metadata={"type": ["string", "null"], "format": "date"},
    )
    timeout_policy = fields.Function(lambda p: p.step.timeout_policy, metadata={"type": "string"})


class TransferSchema(Schema):
    id = fields.Function(lambda p: p.case.id, metadata={"type": "integer"})
    reference = fields.String()
    state = fields.Function(lambda p: p.case.state, metadata={"type": "string"})
    student_id = fields.Function(lambda p: p.case.student_id, metadata={"type": "integer"})
    from_school = fields.Nested(SchoolSchema)
    to_school = fields.Nested(SchoolSchema)
    reason = fields.Function(lambda p: p.case.payload.get("reason"), metadata={"type": "string"})
    reason_text = fields.Function(
        lambda p: p.case.payload.get("reason_text", ""), metadata={"type": "string"}
    )
    evidence = fields.Function(
        lambda p: p.case.payload.get("evidence", []), metadata={"type": "array", "items": {"type": "string"}}
    )
    paper = fields.Function(lambda p: p.case.payload.get("paper"), metadata={"type": ["object", "null"]})
    done = fields.Integer()
    total = fields.Integer()
    can_withdraw = fields.Boolean()
    parties = fields.List(fields.Nested(TransferPartySchema))


class TransferStepSchema(Schema):
    """A step waiting on the caller's unit."""

    id = fields.Integer()
    case_id = fields.Integer()
    role = fields.String()
    mode = fields.String()
    due_on = fields.Date(allow_none=True)
    overdue_since = fields.Date(allow_none=True)


class TransferArchiveSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    student_id = fields.Integer()
    archived_at = fields.DateTime()
    record = fields.Function(
        lambda a: masked_record(a.record),
        metadata={"type": "object", "description": "the record as it left the school (numbers masked)"},
    )


def masked_record(record: dict) -> dict:
    return {
        **record,
        "document_number": mask_document_number(record.get("document_number") or ""),
        "student_number": mask_student_number(record.get("student_number") or ""),
    }
