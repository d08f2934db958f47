"""Reading a JSON body: the one check every write endpoint of the requests and transfers makes.

Writes take JSON only: a cross-site form cannot send it without a preflight, which this API
never grants (the blueprint is exempt from the form CSRF token).
"""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError

from portal.errors import ValidationFailed


def json_body(schema: Schema) -> dict:
    """The body loaded by `schema`; 415 unless JSON, 400 naming the fields that are wrong."""
    if not request.is_json:
        raise ValidationFailed("request.json_required", _l("Send the request as JSON."), status=415)
    try:
        return schema.load(request.get_json(silent=True) or {})
    except ValidationError as error:
        fields = ", ".join(sorted(error.messages))
        raise ValidationFailed(
            "request.invalid_body", _l("Please check: %(fields)s."), fields=fields
        ) from None
