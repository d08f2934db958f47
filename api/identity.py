"""Relying-party systems verify identity tokens online (offline: docs/identity.md)."""

from __future__ import annotations

from flask import jsonify, request
from marshmallow import ValidationError

from api import blueprint
from api.errors import problem_response
from api.identity_schemas import VerdictSchema, VerifyRequestSchema
from portal.extensions import limiter
from portal.identity.verification import Channel, verify
from portal.security.permissions import Permission, requires


@blueprint.post("/identity/verify")
@requires(Permission.PUBLIC)
@limiter.limit("120 per minute")
def verify_token():
    """Verify a student identity token; the family sees that it was checked.
    ---
    post:
      summary: Verify an identity token (signature, key, validity, revocation, audience)
      requestBody:
        required: true
        content: {application/json: {schema: VerifyRequestSchema}}
      responses:
        200:
          description: The verdict (valid or not, with the reason)
          content: {application/json: {schema: VerdictSchema}}
        400:
          description: Bad input (problem+json)
          content: {application/problem+json: {schema: ProblemSchema}}
    """
    try:
        body = VerifyRequestSchema().load(request.get_json(silent=True) or {})
    except ValidationError as error:
        return problem_response(400, "request.invalid", str(error.messages))
    verdict = verify(
        body["token"], audience=body["audience"], channel=Channel.API, single_use=body["single_use"]
    )
    return jsonify(VerdictSchema().dump(verdict.as_dict()))
