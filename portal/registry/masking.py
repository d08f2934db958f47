"""Masking identity numbers for display: never more than 40% of a number is shown."""

from __future__ import annotations

from portal.registry.documents import ID_LENGTH, STUDENT_NUMBER_LENGTH, STUDENT_NUMBER_PREFIXES

_MAX_REVEALED_SHARE = 0.4


def _reveal_budget(length: int, head: int, tail: int) -> tuple[int, int]:
    """Shrink (head, tail) until at most 40% of the characters are shown."""
    budget = int(length * _MAX_REVEALED_SHARE)
    while head + tail > budget:
        if tail >= head and tail > 0:
            tail -= 1
        else:
            head -= 1
    return head, tail


def mask_document_number(number: str) -> str:
    """Hide the middle of a document number, showing at most 40% of it."""
    preferred = (3, 4) if len(number) == ID_LENGTH else (1, 2)
    head, tail = _reveal_budget(len(number), *preferred)
    hidden = len(number) - head - tail
    return number[:head] + "*" * hidden + number[len(number) - tail :]


def mask_student_number(number: str) -> str:
    """Mask a student number like the ID number it may embed, after the kind letter."""
    # The letter only says G/J/L. Showing exactly what the ID mask shows means the
    # two masked values side by side reveal nothing more than one of them.
    if len(number) == STUDENT_NUMBER_LENGTH and number[0] in STUDENT_NUMBER_PREFIXES:
        return number[0] + mask_document_number(number[1:])
    return mask_document_number(number)


_MASKERS = {"document_number": mask_document_number, "student_number": mask_student_number}


def mask_record_values(values: dict) -> dict:
    """A copy of record values (e.g. a history entry's before/after) with numbers masked."""
    return {
        key: _MASKERS[key](value) if key in _MASKERS and isinstance(value, str) else value
        for key, value in values.items()
    }


def mask_mobile(number: str) -> str:
    """138****8000: enough to tell two guardians apart, not enough to call them."""
    return number[:3] + "*" * (len(number) - 7) + number[-4:] if len(number) == 11 else "*" * len(number)
