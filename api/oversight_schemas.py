"""Dump schemas for oversight: the family's access log, warnings, exports."""

from __future__ import annotations

from marshmallow import Schema, fields


class AccessEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    unit = fields.String(metadata={"description": "the unit that used the record, never a person"})
    unit_level = fields.String()
    role = fields.String()
    action = fields.String()
    reason = fields.String(metadata={"description": "the page, request or case that caused it"})


class AccessLogSchema(Schema):
    entries = fields.List(fields.Nested(AccessEntrySchema))
    next_before = fields.Integer(allow_none=True, metadata={"description": "cursor for older entries"})


class WarningSchema(Schema):
    id = fields.Integer()
    rule = fields.String()
    label = fields.Function(lambda w: w.rule_enum.label, metadata={"type": "string"})
    description = fields.Function(lambda w: _describe(w), metadata={"type": "string"})
    account = fields.Function(lambda w: w.account.username, metadata={"type": "string"})
    unit = fields.Function(lambda w: w.org_unit.name, metadata={"type": "string"})
    detail = fields.Dict()
    raised_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledgement_note = fields.String()


class WarningPageSchema(Schema):
    warnings = fields.List(fields.Nested(WarningSchema))
    next_before = fields.Integer(allow_none=True)


class AcknowledgeSchema(Schema):
    note = fields.String(required=True, metadata={"description": "what was found or done"})


class ThresholdsSchema(Schema):
    reads_window_days = fields.Integer(required=True)
    reads_mad_factor = fields.Float(required=True)
    reads_minimum = fields.Integer(required=True)
    walk_records = fields.Integer(required=True)
    walk_minutes = fields.Integer(required=True)
    failures_count = fields.Integer(required=True)
    failures_minutes = fields.Integer(required=True)
    unusual_hour_history = fields.Integer(required=True)
    idle_days = fields.Integer(required=True)
    seal_notice_days = fields.Integer(required=True)


def _describe(warning) -> str:
    from portal.oversight.warnings import describe

    return describe(warning)


DOCUMENTED = (
    AccessEntrySchema,
    AccessLogSchema,
    WarningSchema,
    WarningPageSchema,
    AcknowledgeSchema,
    ThresholdsSchema,
)


class ExportSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    purpose = fields.String()
    recipient = fields.String()
    scope_unit_id = fields.Integer()
    scope = fields.Function(lambda e: e.scope_unit.name, metadata={"type": "string"})
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_unit_id = fields.Integer(allow_none=True)
    decision_note = fields.String()
    produced_at = fields.DateTime(allow_none=True)


class ExportPageSchema(Schema):
    exports = fields.List(fields.Nested(ExportSchema))
    next_before = fields.Integer(allow_none=True)


class ExportRequestSchema(Schema):
    purpose = fields.String(required=True, metadata={"description": "purpose and legal basis"})
    recipient = fields.String(required=True)
    scope_unit_id = fields.Integer(required=True, metadata={"description": "a unit at or below yours"})


class ExportDecisionSchema(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(load_default="", metadata={"description": "required when refusing"})


DOCUMENTED += (ExportSchema, ExportPageSchema, ExportRequestSchema, ExportDecisionSchema)


class FamilyCopySchema(Schema):
    id = fields.Integer()
    requested_at = fields.DateTime()
    produced_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "downloadable until then"})


DOCUMENTED += (FamilyCopySchema,)
