"""Reading form fields; every rule about the values lives in the services."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l

from portal.errors import ValidationFailed


def text(name: str, *, max_length: int = 200) -> str:
    return request.form.get(name, "").strip()[:max_length]


# No date the portal deals with (births of pupils and parents, school years, holidays) lies
# outside these bounds; 0001-01-01 and 9999-12-31 are typing accidents or probes.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
# A keyset cursor is a row id; the OpenAPI document declares it as up to nine digits.
MAX_CURSOR = 999_999_999


def date_field(name: str, *, earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE) -> date:
    """A date typed as YYYY-MM-DD, refused outside [earliest, latest]."""
    raw = request.form.get(name, "").strip()
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("form.bad_date", _l("Please enter a date like 2015-09-01.")) from None
    if not earliest <= value <= latest:
        raise ValidationFailed(
            "form.date_out_of_range",
            _l("Please enter a date from %(earliest)s to %(latest)s."),
            earliest=earliest.isoformat(),
            latest=latest.isoformat(),
        )
    return value


def query_int(name: str, *, default: int | None, minimum: int, maximum: int) -> int | None:
    """A whole number from the query string: absent means `default`; empty or repeated is refused."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise ValidationFailed("form.repeated_parameter", _l("Please give this value only once."))
    if not values:
        return default
    if not values[0].strip():
        raise ValidationFailed("form.bad_number", _l("Please enter a whole number."))
    return int_field(name, minimum=minimum, maximum=maximum)


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
