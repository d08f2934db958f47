"""Synthetic identity numbers with valid check characters, for demo data and tests.

Every number made here belongs to an invented person.
"""

from __future__ import annotations

import re
from datetime import date

from portal.registry.documents import Gender, mod11_2_check_character


def _make_id_like(first6: str, birth: date, sequence: int, gender: Gender | None) -> str:
    """An 18-char number, sequence parity set to the gender if given, with check char."""
    if not re.fullmatch(r"[0-9]{6}", first6):
        raise ValueError("region code must be 6 ASCII digits")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be between 0 and 999")
    if gender is not None and (sequence % 2 == 1) != (Gender(gender) is Gender.MALE):
        sequence ^= 1  # flips parity and stays within 0..999
    first17 = f"{first6}{birth:%Y%m%d}{sequence:03d}"
    return first17 + mod11_2_check_character(first17)


def make_resident_id(region_code: str, birth: date, sequence: int, gender: Gender) -> str:
    """A synthetic resident ID (or HK/Macao/Taiwan residence permit, with 81/82/830000)."""
    return _make_id_like(region_code, birth, sequence, gender)


def make_permanent_residence_id(
    province_code: str, nationality_code: str, birth: date, sequence: int, gender: Gender
) -> str:
    """A synthetic 2023 permanent residence ID: 9, province, 3-digit nationality, ..."""
    return _make_id_like(f"9{province_code}{nationality_code}", birth, sequence, gender)


def make_j_number(region_code: str, birth: date, sequence: int) -> str:
    """A synthetic J student number (the sequence is used as given)."""
    return "J" + _make_id_like(region_code, birth, sequence, None)


def make_l_number(region_code: str, birth: date, serial: int) -> str:
    """A synthetic temporary L student number."""
    if not re.fullmatch(r"[0-9]{6}", region_code):
        raise ValueError("region code must be 6 ASCII digits")
    if not 0 <= serial <= 9999:
        raise ValueError("serial must be between 0 and 9999")
    return f"L{region_code}{birth:%Y%m%d}{serial:04d}"
