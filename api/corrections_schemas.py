"""Schemas of the correction and evidence endpoints: shape only (the rules are in the services)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from portal.corrections.service import MAX_EVIDENCE, MAX_REASON_LENGTH, PROPOSABLE_FIELDS, Action
from portal.registry.masking import mask_record_values

_REFERENCE = fields.String(validate=validate.Length(equal=32))


class CorrectionRequestSchema(Schema):
    changes = fields.Dict(
        keys=fields.String(validate=validate.OneOf(PROPOSABLE_FIELDS)),
        values=fields.String(validate=validate.Length(max=50)),
        required=True,
        metadata={
            "description": "new values; dates as YYYY-MM-DD, codes as the national tables; "
            "`photo`: the reference of a new registry photo uploaded to /evidence"
        },
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON_LENGTH))
    evidence = fields.List(_REFERENCE, load_default=list, validate=validate.Length(max=MAX_EVIDENCE))
    idempotency_key = fields.String(
        load_default=None,
        validate=validate.Length(min=8, max=64),
        metadata={"description": "the same key on a retried submit returns the same case"},
    )


class ResubmissionSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=MAX_REASON_LENGTH))
    evidence = fields.List(_REFERENCE, load_default=list, validate=validate.Length(max=MAX_EVIDENCE))


class CorrectionDecisionSchema(Schema):
    action = fields.String(
        required=True, validate=validate.OneOf([Action.APPROVE, Action.REJECT, Action.RETURN])
    )
    fields_ = fields.List(
        fields.String(),
        data_key="fields",
        load_default=None,
        metadata={"description": "approve: only these fields (the others are declined with `reason`)"},
    )
    reason = fields.String(load_default="", validate=validate.Length(max=MAX_REASON_LENGTH))


class CorrectionStepSchema(Schema):
    id = fields.Integer()
    role = fields.String()
    state = fields.String()
    due_on = fields.Date(allow_none=True)
    reason = fields.String(allow_none=True)


class CorrectionSchema(Schema):
    id = fields.Integer()
    student_id = fields.Integer()
    state = fields.String()
    opened_at = fields.DateTime()
    key_fields = fields.Function(lambda case: case.payload.get("key", False))
    changes = fields.Function(
        lambda case: mask_record_values(case.payload.get("changes", {})),
        metadata={"description": "proposed values (identity numbers masked)"},
    )
    before = fields.Function(lambda case: mask_record_values(case.payload.get("before", {})))
    declined = fields.Function(lambda case: case.payload.get("declined", {}))
    reason = fields.Function(lambda case: case.payload.get("reason", ""))
    evidence = fields.Function(lambda case: case.payload.get("evidence", []))
    steps = fields.List(fields.Nested(CorrectionStepSchema))
