"""Dump schemas for the inbox (texts rendered by the service, in the reader's language)."""

from __future__ import annotations

from marshmallow import Schema, fields


class InboxMessageSchema(Schema):
    id = fields.Function(lambda m: m["message"].id, metadata={"type": "integer"})
    kind = fields.Function(lambda m: m["message"].kind, metadata={"type": "string"})
    subject = fields.String()
    body = fields.String()
    url = fields.Function(lambda m: m["message"].url, metadata={"type": ["string", "null"]})
    created_at = fields.Function(
        lambda m: m["message"].created_at.isoformat(), metadata={"type": "string", "format": "date-time"}
    )
    read_at = fields.Function(
        lambda m: m["message"].read_at.isoformat() if m["message"].read_at else None,
        metadata={"type": ["string", "null"], "format": "date-time"},
    )


class InboxPageSchema(Schema):
    messages = fields.List(fields.Nested(InboxMessageSchema))
    next_before = fields.Integer(allow_none=True, metadata={"description": "cursor for older messages"})
    unread = fields.Integer()
