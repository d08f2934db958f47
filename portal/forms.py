"""Reading form fields; every rule about the values lives in the services."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l

from portal.errors import ValidationFailed


def text(name: str, *, max_length: int = 200) -> str:
    return request.form.get(name, "").strip()[:max_length]


def date_field(name: str) -> date:
    raw = request.form.get(name, "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("form.bad_date", _l("Please enter a date like 2015-09-01.")) from None


def int_field(name: str, *, default: int | None = None) -> int:
    raw = request.values.get(name, "").strip()
    if not raw and default is not None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed("form.bad_number", _l("Please enter a whole number.")) from None
