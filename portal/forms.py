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


def int_field(
    name: str, *, default: int | None = None, minimum: int = -1_000_000, maximum: int = 1_000_000
) -> int:
    """A whole number within bounds (unbounded numbers overflow database columns).

    The services hold the real rules (1–60 working days, which years); these bounds only
    keep absurd input from reaching the database.
    """
    raw = request.values.get(name, "").strip()[:12]
    if not raw and default is not None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed("form.bad_number", _l("Please enter a whole number.")) from None
    if not minimum <= value <= maximum:
        raise ValidationFailed(
            "form.number_out_of_range",
            _l("Please enter a number from %(minimum)s to %(maximum)s."),
            minimum=minimum,
            maximum=maximum,
        )
    return value
