"""Identity documents and national student numbers (学籍号): the checks.

Masking lives in `masking.py`, synthetic numbers for demos and tests in `synthetic.py`.

Pure functions: no database, no Flask app. Every refusal is a ``ValidationFailed``
with a stable code (``document.*`` or ``student_number.*``) and a message a parent
can act on.
"""

from __future__ import annotations

import enum
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

from portal import clock
from portal.errors import ValidationFailed


class DocumentType(enum.StrEnum):
    """Document type codes used by the national registry system."""

    RESIDENT_ID = "1"
    HONG_KONG = "6"
    MACAO = "7"
    TAIWAN = "8"
    PERMANENT_RESIDENCE = "9"
    PASSPORT = "A"
    OTHER = "Z"


class Gender(enum.StrEnum):
    """GB/T 2261.1 gender codes."""

    MALE = "1"
    FEMALE = "2"


class StudentNumberKind(enum.StrEnum):
    """The leading letter of a 19-character student number."""

    G = "G"
    J = "J"
    L = "L"


# Province-level codes of mainland China (GB/T 2260). 71 (Taiwan) and 81/82/83 never
# start a resident ID: 81/82/83 are residence permits, handled under their own types.
PROVINCE_CODES = frozenset(
    str(code)
    for first, last in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65))
    for code in range(first, last + 1)
)

PERMIT_REGION_CODES = {
    DocumentType.HONG_KONG: "810000",
    DocumentType.MACAO: "820000",
    DocumentType.TAIWAN: "830000",
}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
ID_LENGTH = 18
STUDENT_NUMBER_LENGTH = 19
_EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# [0-9], never \d: \d also matches Arabic-Indic and other Unicode digits.
_FIRST17_DIGITS = re.compile(r"[0-9]{17}")
_TRAVEL_PERMITS = {
    DocumentType.HONG_KONG: re.compile(r"H(?:[0-9]{8}|[0-9]{10})"),
    DocumentType.MACAO: re.compile(r"M(?:[0-9]{8}|[0-9]{10})"),
    DocumentType.TAIWAN: re.compile(r"[0-9]{8}|[0-9]{10}"),
}
_TRAVEL_PERMIT_LENGTHS = {
    DocumentType.HONG_KONG: (9, 11),
    DocumentType.MACAO: (9, 11),
    DocumentType.TAIWAN: (8, 10),
}
_PERMANENT_2017 = re.compile(r"[A-Z]{3}[0-9]{12}")
_PASSPORT = re.compile(r"[A-Z0-9]+")
_L_BODY = re.compile(r"[0-9]{18}")

_FULL_WIDTH_OFFSET = 0xFEE0
STUDENT_NUMBER_PREFIXES = frozenset(StudentNumberKind)


class _Fault(Exception):
    """Internal refusal reason; the public function turns it into a ValidationFailed."""

    def __init__(self, reason: str, **params):
        super().__init__(reason)
        self.reason = reason
        self.params = params


_DOCUMENT_MESSAGES = {
    "unknown_type": _l("Please choose the type of identity document."),
    "bad_length": _l(
        "This number has %(length)s characters, which is not a possible length. Expected: %(expected)s."
    ),
    "bad_format": _l(
        "This number contains a character that does not belong in that place. Expected: %(expected)s."
    ),
    "bad_check_character": _l(
        "The check character of this ID number is wrong. Please check the last "
        "character, then the other characters, against the document."
    ),
    "bad_birth_date": _l(
        "The birth date inside this number is not a real date or lies in the future. "
        "Please check the number against the document."
    ),
    "bad_region": _l(
        "The first digits of this number are not a valid region code for this type of "
        "document. For a Hong Kong, Macao or Taiwan residence permit, please choose "
        "that document type instead of resident ID card."
    ),
    "birth_date_mismatch": _l(
        "The birth date inside this number (%(embedded)s) does not match the birth "
        "date entered (%(entered)s). Please check both."
    ),
    "gender_mismatch": _l(
        "The gender shown by this number does not match the gender entered. Please check both."
    ),
}

_STUDENT_NUMBER_MESSAGES = {
    "bad_length": _l(
        "This student number has %(length)s characters. A student number always has "
        "19 characters: G, J or L followed by 18 characters."
    ),
    "bad_prefix": _l("A student number starts with the letter G, J or L."),
    "bad_format": _l(
        "This student number contains a character that does not belong in that place. "
        "Please check it against the school's records."
    ),
    "bad_check_character": _l(
        "The check character of this student number is wrong. Please check the last "
        "character, and the other characters."
    ),
    "bad_birth_date": _l(
        "The birth date inside this student number is not a real date or lies in the "
        "future. Please check the number."
    ),
    "bad_region": _l(
        "The region code inside this student number is not a mainland region code. Please check the number."
    ),
    "birth_date_mismatch": _l(
        "The birth date inside this student number (%(embedded)s) does not match the "
        "student's birth date (%(entered)s)."
    ),
    "document_mismatch": _l(
        "This student number does not contain the student's ID number. A student number "
        "starting with G is G followed by the 18-character ID number."
    ),
    "g_needs_resident_id": _l(
        "A student number starting with G is built only from a checked resident ID number; "
        "with another identity document the number starts with J or L."
    ),
}

_EXPECTED_SHAPES = {
    DocumentType.RESIDENT_ID: _l("18 characters: 17 digits, then a digit or the letter X"),
    DocumentType.HONG_KONG: _l(
        "an 18-character residence permit number starting with 810000, or H followed by 8 or 10 digits"
    ),
    DocumentType.MACAO: _l(
        "an 18-character residence permit number starting with 820000, or M followed by 8 or 10 digits"
    ),
    DocumentType.TAIWAN: _l(
        "an 18-character residence permit number starting with 830000, or 8 or 10 digits"
    ),
    DocumentType.PERMANENT_RESIDENCE: _l(
        "18 characters starting with 9, or (older cards) 3 letters followed by 12 digits"
    ),
    DocumentType.PASSPORT: _l("5 to 17 letters and digits"),
    DocumentType.OTHER: _l("1 to 30 characters"),
}


def _refusal(fault: _Fault, scope: str, messages: dict, **extra) -> ValidationFailed:
    """Turn an internal fault into the public error for one scope."""
    return ValidationFailed(f"{scope}.{fault.reason}", messages[fault.reason], **{**extra, **fault.params})


# --- Normalizing and the check character -------------------------------------------


def _to_half_width(char: str) -> str:
    """Map a full-width digit or Latin letter to its ASCII form."""
    code = ord(char)
    if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
        return chr(code - _FULL_WIDTH_OFFSET)
    return char


def normalize_document_number(number: str) -> str:
    """Remove all whitespace, convert full-width digits/letters to ASCII, upper-case."""
    compact = "".join(number.split())
    return "".join(_to_half_width(c) for c in compact).upper()


def mod11_2_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an ID-like number."""
    if not _FIRST17_DIGITS.fullmatch(first17):
        raise ValueError("first17 must be exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


# --- Embedded birth date and gender --------------------------------------------------


def _embedded_birth_date(number: str) -> date:
    """The real, non-future birth date at positions 6..14, or a bad_birth_date fault."""
    try:
        born = ric.get_birth_date(number)
    except (InvalidComponent, ValueError):
        raise _Fault("bad_birth_date") from None
    if not _EARLIEST_BIRTH_DATE <= born <= clock.today():
        raise _Fault("bad_birth_date")
    return born


def gender_from_number(number: str) -> Gender:
    """The gender encoded by the parity of the 17th character of an ID-like number."""
    return Gender.MALE if int(number[16]) % 2 else Gender.FEMALE


# --- Shared checks -------------------------------------------------------------------


def _check_id_shape(number: str) -> None:
    """Length, digits, MOD 11-2 check character and birth date of an 18-char number."""
    try:
        ric.validate(number)
    except InvalidLength:
        raise _Fault("bad_length", length=len(number)) from None
    except InvalidFormat:
        raise _Fault("bad_format") from None
    except InvalidChecksum:
        # stdnum reports any wrong last character as a checksum error; a letter
        # other than X there is a typing slip of another kind.
        reason = "bad_check_character" if number[-1] in "0123456789X" else "bad_format"
        raise _Fault(reason) from None
    except InvalidComponent:
        # Raised for an impossible date (checked again just below) or for a county
        # that stdnum's table does not know for that birth year. The county table
        # lags GB/T 2260 and people keep codes assigned after their birth, so we
        # enforce only the province prefix; the population base is authoritative.
        pass
    _embedded_birth_date(number)


def _check_mainland_region(number: str) -> None:
    """The first two digits must be a mainland province-level code."""
    if number[:2] not in PROVINCE_CODES:
        raise _Fault("bad_region")


def _check_agreement(number: str, birth_date: date | None, gender: Gender | None) -> None:
    """The embedded birth date and gender must match what was entered, if anything."""
    embedded = _embedded_birth_date(number)
    if birth_date is not None and birth_date != embedded:
        raise _Fault("birth_date_mismatch", embedded=embedded.isoformat(), entered=birth_date.isoformat())
    if gender is not None and Gender(gender) != gender_from_number(number):
        raise _Fault("gender_mismatch")


# --- One checker per document type ---------------------------------------------------


def _check_resident_id(number: str, birth_date: date | None, gender: Gender | None) -> None:
    """GB 11643 resident ID number of a mainland resident."""
    _check_id_shape(number)
    _check_mainland_region(number)
    _check_agreement(number, birth_date, gender)


def _permit_checker(doc_type: DocumentType):
    """Checker for a Hong Kong / Macao / Taiwan residence permit or travel permit."""

    def check(number: str, birth_date: date | None, gender: Gender | None) -> None:
        if len(number) == ID_LENGTH:
            _check_id_shape(number)
            if not number.startswith(PERMIT_REGION_CODES[doc_type]):
                raise _Fault("bad_region")
            _check_agreement(number, birth_date, gender)
        elif not _TRAVEL_PERMITS[doc_type].fullmatch(number):
            if len(number) in _TRAVEL_PERMIT_LENGTHS[doc_type]:
                raise _Fault("bad_format")
            raise _Fault("bad_length", length=len(number))

    return check


def _two_digit_year_date(yymmdd: str) -> date:
    """A real YYMMDD date, taking the latest century that is not in the future."""
    today = clock.today()
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    for century in (2000, 1900):
        try:
            candidate = date(century + yy, mm, dd)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    raise _Fault("bad_birth_date")


def _check_permanent_residence_2017(number: str, birth_date: date | None) -> None:
    """2017 card: 3-letter nationality, 2-digit region/authority, YYMMDD, 4 digits."""
    if not _PERMANENT_2017.fullmatch(number):
        raise _Fault("bad_format")
    # The 2017 check digit algorithm is not published in a form we can verify,
    # so only the shape and the embedded date are checked for these older cards.
    embedded = _two_digit_year_date(number[5:11])
    if birth_date is not None and birth_date.strftime("%y%m%d") != number[5:11]:
        raise _Fault("birth_date_mismatch", embedded=embedded.isoformat(), entered=birth_date.isoformat())


def _check_permanent_residence(number: str, birth_date: date | None, gender: Gender | None) -> None:
    """Foreigner's permanent residence ID card, 2023 (18 chars) or 2017 (15 chars)."""
    if len(number) == 15:
        _check_permanent_residence_2017(number, birth_date)
        return
    if len(number) != ID_LENGTH:
        raise _Fault("bad_length", length=len(number))
    if not number.startswith("9"):
        raise _Fault("bad_format")
    _check_id_shape(number)
    _check_agreement(number, birth_date, gender)


def _check_passport(number: str, birth_date: date | None, gender: Gender | None) -> None:
    """Passport: 5 to 17 ASCII letters and digits."""
    if not 5 <= len(number) <= 17:
        raise _Fault("bad_length", length=len(number))
    if not _PASSPORT.fullmatch(number):
        raise _Fault("bad_format")


def _check_other(number: str, birth_date: date | None, gender: Gender | None) -> None:
    """Any other document: 1 to 30 printable characters."""
    if not 1 <= len(number) <= 30:
        raise _Fault("bad_length", length=len(number))
    if not number.isprintable():
        raise _Fault("bad_format")


_CHECKERS = {
    DocumentType.RESIDENT_ID: _check_resident_id,
    DocumentType.HONG_KONG: _permit_checker(DocumentType.HONG_KONG),
    DocumentType.MACAO: _permit_checker(DocumentType.MACAO),
    DocumentType.TAIWAN: _permit_checker(DocumentType.TAIWAN),
    DocumentType.PERMANENT_RESIDENCE: _check_permanent_residence,
    DocumentType.PASSPORT: _check_passport,
    DocumentType.OTHER: _check_other,
}


def _document_type(doc_type) -> DocumentType:
    """Coerce a code or member to DocumentType, refusing unknown codes."""
    try:
        return DocumentType(doc_type)
    except ValueError:
        raise ValidationFailed("document.unknown_type", _DOCUMENT_MESSAGES["unknown_type"]) from None


def validate_document(
    doc_type: DocumentType,
    number: str,
    *,
    birth_date: date | None = None,
    gender: Gender | None = None,
) -> str:
    """Return the normalized document number, or raise ValidationFailed."""
    kind = _document_type(doc_type)
    normalized = normalize_document_number(number)
    try:
        _CHECKERS[kind](normalized, birth_date, gender)
    except _Fault as fault:
        expected = _EXPECTED_SHAPES[kind]
        raise _refusal(fault, "document", _DOCUMENT_MESSAGES, expected=expected) from None
    return normalized


# --- Student numbers (学籍号) --------------------------------------------------------


def _check_id_like_body(body: str) -> None:
    """G and J bodies: mainland region, real date, sequence, MOD 11-2 check character."""
    _check_id_shape(body)
    _check_mainland_region(body)


def _check_l_body(body: str) -> None:
    """L body: 6-digit mainland region code, real birth date, 4 digits, no check."""
    if not _L_BODY.fullmatch(body):
        raise _Fault("bad_format")
    _check_mainland_region(body)
    _embedded_birth_date(body)


def _check_student_number(
    number: str, birth_date: date | None, document_type, document_number: str | None
) -> StudentNumberKind:
    """Check a normalized student number; raise _Fault on the first problem."""
    if len(number) != STUDENT_NUMBER_LENGTH:
        raise _Fault("bad_length", length=len(number))
    if number[0] not in STUDENT_NUMBER_PREFIXES:
        raise _Fault("bad_prefix")
    kind, body = StudentNumberKind(number[0]), number[1:]
    if kind is StudentNumberKind.L:
        _check_l_body(body)
    else:
        _check_id_like_body(body)
    _check_agreement(body, birth_date, None)
    if kind is StudentNumberKind.G and document_type not in (None, DocumentType.RESIDENT_ID):
        raise _Fault("g_needs_resident_id")  # N16: never from a passport, permit or residence card
    if (
        kind is StudentNumberKind.G
        and document_type == DocumentType.RESIDENT_ID
        and document_number is not None
        and normalize_document_number(document_number) != body
    ):
        raise _Fault("document_mismatch")
    return kind


def validate_student_number(
    number: str,
    *,
    birth_date: date | None = None,
    document_type=None,
    document_number: str | None = None,
) -> StudentNumberKind:
    """Return the kind (G/J/L) of a valid student number, or raise ValidationFailed.

    An impossible embedded date is ``student_number.bad_birth_date``; a real date that
    disagrees with ``birth_date`` is ``student_number.birth_date_mismatch``.
    """
    normalized = normalize_document_number(number)
    try:
        return _check_student_number(normalized, birth_date, document_type, document_number)
    except _Fault as fault:
        raise _refusal(fault, "student_number", _STUDENT_NUMBER_MESSAGES) from None
