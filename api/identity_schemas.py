"""Schemas of the identity endpoints: shape only."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from portal.identity.verifier import PUBLIC_AUDIENCE, Check, Outcome, Reason


class StrictBoolean(fields.Boolean):
    """JSON true or false only: marshmallow would take 0, 1 or "yes" (and 0 == False in Python)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class VerifyRequestSchema(Schema):
    token = fields.String(
        required=True,
        validate=validate.Length(min=1, max=4096),
        metadata={"description": "a compact JWS, or the XJ1 text read from the QR code"},
    )
    audience = fields.String(
        load_default=PUBLIC_AUDIENCE,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "`public`, or your registered audience"},
    )
    single_use = StrictBoolean(
        load_default=False, metadata={"description": "refuse a token id presented before (replay guard)"}
    )


class VerdictSchema(Schema):
    valid = fields.Boolean()
    reason = fields.String(
        allow_none=True, metadata={"enum": [str(reason) for reason in Reason], "description": "why refused"}
    )
    checks = fields.Dict(
        keys=fields.String(metadata={"enum": [str(check) for check in Check]}),
        values=fields.String(metadata={"enum": [str(outcome) for outcome in Outcome]}),
    )
    type = fields.String(allow_none=True, metadata={"description": "the token's typ"})
    claims = fields.Dict(metadata={"description": "the disclosed claims, only when valid"})
