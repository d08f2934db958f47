"""Identity document checks, masking and synthetic ID numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from portal import clock
from portal.errors import ValidationFailed
from portal.registry.documents import (
    DocumentType,
    Gender,
    gender_from_number,
    mod11_2_check_character,
    normalize_document_number,
    validate_document,
)
from portal.registry.masking import mask_document_number
from portal.registry.synthetic import make_permanent_residence_id, make_resident_id

# No example database: it would write .hypothesis/ into the shared tree.
PROPERTY = settings(database=None, deadline=None, max_examples=150)

KNOWN_GOOD = "11010519491231002X"
REGIONS = ["110105", "310104", "440305", "340104", "510107", "650102", "540102", "130102"]
DIGITS = "0123456789"

regions = st.sampled_from(REGIONS)
birth_dates = st.dates(min_value=date(1990, 1, 1), max_value=clock.today())
sequences = st.integers(min_value=0, max_value=999)
genders = st.sampled_from(list(Gender))


def refusal(doc_type, number, **kwargs) -> ValidationFailed:
    """The ValidationFailed raised for this input, with a fully rendered message."""
    with pytest.raises(ValidationFailed) as caught:
        validate_document(doc_type, number, **kwargs)
    error = caught.value
    assert error.message and "%(" not in error.message
    return error


def with_check(first17: str) -> str:
    """Append the correct check character."""
    return first17 + mod11_2_check_character(first17)


# --- check character ----------------------------------------------------------------


def test_check_character_of_known_number():
    assert mod11_2_check_character(KNOWN_GOOD[:17]) == "X"


def test_check_character_table():
    # A lone 1 in the last place weighs 2 -> "X"; in the first place it weighs 7 -> "5".
    assert mod11_2_check_character("0" * 17) == "1"
    assert mod11_2_check_character("0" * 16 + "1") == "X"
    assert mod11_2_check_character("1" + "0" * 16) == "5"


@pytest.mark.parametrize("bad", ["", "1" * 16, "1" * 18, "1" * 16 + "X", "١" * 17])
def test_check_character_needs_17_ascii_digits(bad):
    with pytest.raises(ValueError):
        mod11_2_check_character(bad)


@given(first17=st.text(alphabet=DIGITS, min_size=17, max_size=17))
@PROPERTY
def test_check_character_agrees_with_stdnum(first17):
    assert mod11_2_check_character(first17) == ric.calc_check_digit(first17 + "0")


# --- normalizing --------------------------------------------------------------------


def test_normalize_strips_spaces_upper_cases_and_half_widths():
    assert normalize_document_number(" 110105 19491231 002x ") == KNOWN_GOOD
    assert normalize_document_number("１１０１０５１９４９１２３１００２ｘ") == KNOWN_GOOD
    assert normalize_document_number("Ｈ１２３４５６７８\u3000") == "H12345678"


# --- resident ID --------------------------------------------------------------------


def test_known_good_resident_id_is_accepted_and_normalized():
    assert validate_document(DocumentType.RESIDENT_ID, " 11010519491231002x") == KNOWN_GOOD


def test_document_type_given_as_plain_code():
    assert validate_document("1", KNOWN_GOOD) == KNOWN_GOOD


def test_unknown_document_type():
    assert refusal("Q", KNOWN_GOOD).code == "document.unknown_type"


def test_wrong_check_character():
    assert refusal(DocumentType.RESIDENT_ID, "110105194912310021").code == ("document.bad_check_character")


@pytest.mark.parametrize("number", ["11010519491231002", "11010519491231002X1", "", "110105"])
def test_wrong_length(number):
    assert refusal(DocumentType.RESIDENT_ID, number).code == "document.bad_length"


@pytest.mark.parametrize(
    "number",
    [
        "1101051949123100AX",  # letters among the first 17
        "X10105194912310021",
        "11010519491231002A",  # only X may stand in the last place
        "11010519491231002-",
    ],
)
def test_letters_in_the_wrong_place(number):
    assert refusal(DocumentType.RESIDENT_ID, number).code == "document.bad_format"


@pytest.mark.parametrize("embedded", ["20100230", "20230229", "20101301", "20100001", "18991231"])
def test_impossible_birth_date(embedded):
    number = with_check("110105" + embedded + "123")
    assert refusal(DocumentType.RESIDENT_ID, number).code == "document.bad_birth_date"


def test_future_birth_date():
    number = make_resident_id("110105", clock.today() + timedelta(days=1), 12, Gender.MALE)
    assert refusal(DocumentType.RESIDENT_ID, number).code == "document.bad_birth_date"


def test_born_today_is_accepted():
    number = make_resident_id("110105", clock.today(), 12, Gender.MALE)
    assert validate_document(DocumentType.RESIDENT_ID, number) == number


@pytest.mark.parametrize("region", ["810000", "820000", "830000", "710000", "000000", "990101"])
def test_region_outside_the_mainland_is_refused_as_resident_id(region):
    number = make_resident_id(region, date(2010, 5, 1), 12, Gender.MALE)
    assert refusal(DocumentType.RESIDENT_ID, number).code == "document.bad_region"


def test_county_unknown_to_stdnum_is_still_accepted():
    # 460108 exists only from 2002 in stdnum's table; codes are kept after birth.
    number = make_resident_id("460108", date(1995, 6, 1), 12, Gender.FEMALE)
    assert validate_document(DocumentType.RESIDENT_ID, number) == number


def test_birth_date_agreement():
    assert validate_document(DocumentType.RESIDENT_ID, KNOWN_GOOD, birth_date=date(1949, 12, 31))
    error = refusal(DocumentType.RESIDENT_ID, KNOWN_GOOD, birth_date=date(1949, 12, 30))
    assert error.code == "document.birth_date_mismatch"
    assert "1949-12-31" in error.message and "1949-12-30" in error.message


def test_gender_agreement():
    # 17th digit 2 is even: female.
    assert validate_document(DocumentType.RESIDENT_ID, KNOWN_GOOD, gender=Gender.FEMALE)
    error = refusal(DocumentType.RESIDENT_ID, KNOWN_GOOD, gender=Gender.MALE)
    assert error.code == "document.gender_mismatch"


def test_gender_given_as_plain_code():
    assert refusal("1", KNOWN_GOOD, gender="1").code == "document.gender_mismatch"


@given(region=regions, birth=birth_dates, sequence=sequences, gender=genders)
@PROPERTY
def test_made_resident_id_validates_and_round_trips(region, birth, sequence, gender):
    number = make_resident_id(region, birth, sequence, gender)
    assert validate_document(DocumentType.RESIDENT_ID, number, birth_date=birth, gender=gender)
    assert gender_from_number(number) is gender
    assert number[:6] == region


def single_substitutions(number: str):
    """Every number that differs from this one in exactly one character."""
    for index, original in enumerate(number):
        alphabet = DIGITS + "X" if index == 17 else DIGITS
        for replacement in alphabet:
            if replacement != original:
                yield number[:index] + replacement + number[index + 1 :]


def test_every_single_substitution_of_the_known_number_is_refused():
    mutants = list(single_substitutions(KNOWN_GOOD))
    assert len(mutants) == 17 * 9 + 10
    for mutant in mutants:
        assert mod11_2_check_character(mutant[:17]) != mutant[17], mutant
        with pytest.raises(ValidationFailed):
            validate_document(DocumentType.RESIDENT_ID, mutant)


@given(
    region=regions,
    birth=birth_dates,
    sequence=sequences,
    gender=genders,
    index=st.integers(min_value=0, max_value=17),
    shift=st.integers(min_value=1, max_value=10),
)
@PROPERTY
def test_any_single_substitution_breaks_the_check(region, birth, sequence, gender, index, shift):
    number = make_resident_id(region, birth, sequence, gender)
    alphabet = DIGITS + "X" if index == 17 else DIGITS
    replacement = alphabet[(alphabet.index(number[index]) + shift) % len(alphabet)]
    if replacement == number[index]:  # shift == 10 on the digit-only alphabet
        replacement = alphabet[(alphabet.index(number[index]) + 1) % len(alphabet)]
    mutant = number[:index] + replacement + number[index + 1 :]
    assert mutant != number
    assert mod11_2_check_character(mutant[:17]) != mutant[17]
    with pytest.raises(ValidationFailed):
        validate_document(DocumentType.RESIDENT_ID, mutant)


# --- Hong Kong / Macao / Taiwan -----------------------------------------------------

HK_PERMIT = make_resident_id("810000", date(2011, 3, 15), 41, Gender.MALE)
MACAO_PERMIT = make_resident_id("820000", date(2012, 7, 1), 40, Gender.FEMALE)
TAIWAN_PERMIT = make_resident_id("830000", date(2009, 1, 20), 7, Gender.MALE)


def test_hong_kong_residence_permit():
    assert (
        validate_document(DocumentType.HONG_KONG, HK_PERMIT, birth_date=date(2011, 3, 15), gender=Gender.MALE)
        == HK_PERMIT
    )


def test_macao_and_taiwan_residence_permits():
    assert validate_document(DocumentType.MACAO, MACAO_PERMIT) == MACAO_PERMIT
    assert validate_document(DocumentType.TAIWAN, TAIWAN_PERMIT) == TAIWAN_PERMIT


@pytest.mark.parametrize(
    ("doc_type", "number"),
    [
        (DocumentType.HONG_KONG, MACAO_PERMIT),
        (DocumentType.MACAO, HK_PERMIT),
        (DocumentType.TAIWAN, HK_PERMIT),
        (DocumentType.HONG_KONG, KNOWN_GOOD),
    ],
)
def test_residence_permit_of_the_wrong_region(doc_type, number):
    assert refusal(doc_type, number).code == "document.bad_region"


def test_residence_permit_check_character_and_agreement():
    broken = HK_PERMIT[:17] + ("0" if HK_PERMIT[17] != "0" else "1")
    assert refusal(DocumentType.HONG_KONG, broken).code == "document.bad_check_character"
    wrong_day = refusal(DocumentType.HONG_KONG, HK_PERMIT, birth_date=date(2011, 3, 16))
    assert wrong_day.code == "document.birth_date_mismatch"
    wrong_gender = refusal(DocumentType.HONG_KONG, HK_PERMIT, gender=Gender.FEMALE)
    assert wrong_gender.code == "document.gender_mismatch"


@pytest.mark.parametrize(
    ("doc_type", "number"),
    [
        (DocumentType.HONG_KONG, "H12345678"),
        (DocumentType.HONG_KONG, "h 1234567890"),
        (DocumentType.MACAO, "M1234567890"),
        (DocumentType.MACAO, "M12345678"),
        (DocumentType.TAIWAN, "12345678"),
        (DocumentType.TAIWAN, "1234567890"),
    ],
)
def test_travel_permits(doc_type, number):
    assert validate_document(doc_type, number) == normalize_document_number(number)


def test_travel_permit_ignores_birth_date_and_gender():
    assert validate_document(
        DocumentType.HONG_KONG, "H12345678", birth_date=date(2010, 1, 1), gender=Gender.MALE
    )


@pytest.mark.parametrize(
    ("doc_type", "number", "code"),
    [
        (DocumentType.HONG_KONG, "M12345678", "document.bad_format"),
        (DocumentType.HONG_KONG, "H1234567A", "document.bad_format"),
        (DocumentType.HONG_KONG, "H123456789", "document.bad_length"),
        (DocumentType.MACAO, "H1234567890", "document.bad_format"),
        (DocumentType.MACAO, "M1234567", "document.bad_length"),
        (DocumentType.TAIWAN, "H1234567", "document.bad_format"),
        (DocumentType.TAIWAN, "123456789", "document.bad_length"),
        (DocumentType.TAIWAN, "", "document.bad_length"),
    ],
)
def test_bad_travel_permits(doc_type, number, code):
    assert refusal(doc_type, number).code == code


# --- permanent residence ------------------------------------------------------------


def test_permanent_residence_2023():
    number = make_permanent_residence_id("11", "840", date(2012, 3, 4), 7, Gender.MALE)
    assert number.startswith("911840") and len(number) == 18
    assert number[17] == mod11_2_check_character(number[:17])
    assert (
        validate_document(DocumentType.PERMANENT_RESIDENCE, number, birth_date=date(2012, 3, 4), gender="1")
        == number
    )


def test_permanent_residence_2023_refusals():
    number = make_permanent_residence_id("31", "392", date(2013, 9, 9), 10, Gender.FEMALE)
    broken = number[:17] + ("0" if number[17] != "0" else "1")
    assert refusal(DocumentType.PERMANENT_RESIDENCE, broken).code == "document.bad_check_character"
    assert refusal(DocumentType.PERMANENT_RESIDENCE, number, gender=Gender.MALE).code == (
        "document.gender_mismatch"
    )
    assert (
        refusal(DocumentType.PERMANENT_RESIDENCE, number, birth_date=date(2013, 9, 8)).code
        == "document.birth_date_mismatch"
    )
    # A resident ID is 18 characters with a valid check but does not start with 9.
    assert refusal(DocumentType.PERMANENT_RESIDENCE, KNOWN_GOOD).code == "document.bad_format"
    bad_day = with_check("911840" + "20130230" + "010")
    assert refusal(DocumentType.PERMANENT_RESIDENCE, bad_day).code == "document.bad_birth_date"


def test_permanent_residence_2017():
    # USA, region/authority 11, born (19)79-02-12, then 4 digits; no check digit verified.
    assert validate_document(DocumentType.PERMANENT_RESIDENCE, "usa 117902120012") == ("USA117902120012")
    assert validate_document(
        DocumentType.PERMANENT_RESIDENCE, "USA117902120012", birth_date=date(1979, 2, 12)
    )
    assert validate_document(
        DocumentType.PERMANENT_RESIDENCE, "GBR310002290015", birth_date=date(2000, 2, 29)
    )


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("USA117902300012", "document.bad_birth_date"),  # 30 February
        ("USA119913010012", "document.bad_birth_date"),  # month 13
        ("US1117902120012", "document.bad_format"),  # only two letters
        ("USA11790212001X", "document.bad_format"),
        ("USA11790212001", "document.bad_length"),
    ],
)
def test_permanent_residence_2017_refusals(number, code):
    assert refusal(DocumentType.PERMANENT_RESIDENCE, number).code == code


def test_permanent_residence_2017_birth_date_agreement():
    error = refusal(DocumentType.PERMANENT_RESIDENCE, "USA117902120012", birth_date=date(1979, 2, 13))
    assert error.code == "document.birth_date_mismatch"


# --- passport and other -------------------------------------------------------------


@pytest.mark.parametrize("number", ["E12345678", "ab123", "1" * 17, "P 1234567"])
def test_passport(number):
    assert validate_document(DocumentType.PASSPORT, number) == normalize_document_number(number)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("E123", "document.bad_length"),
        ("E" * 18, "document.bad_length"),
        ("E1234-567", "document.bad_format"),
        ("E1234567é", "document.bad_format"),
    ],
)
def test_passport_refusals(number, code):
    assert refusal(DocumentType.PASSPORT, number).code == code


def test_other_document():
    assert validate_document(DocumentType.OTHER, "军官证-123") == "军官证-123"
    assert refusal(DocumentType.OTHER, "   ").code == "document.bad_length"
    assert refusal(DocumentType.OTHER, "X" * 31).code == "document.bad_length"
    assert refusal(DocumentType.OTHER, "A\x00B").code == "document.bad_format"


# --- masking ------------------------------------------------------------------------


def test_mask_resident_id():
    assert mask_document_number(KNOWN_GOOD) == "110***********002X"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("E12345678", "E******78"),
        ("H12345678", "H******78"),
        ("E1234567", "E*****67"),
        ("AB123", "A***3"),
        ("AB", "**"),
        ("", ""),
    ],
)
def test_mask_short_numbers(number, masked):
    assert mask_document_number(number) == masked


@given(number=st.text(alphabet=DIGITS + "ABCHMXZ-", min_size=0, max_size=40))
@PROPERTY
def test_mask_keeps_length_and_reveals_at_most_40_percent(number):
    masked = mask_document_number(number)
    assert len(masked) == len(number)
    revealed = sum(1 for shown, real in zip(masked, number, strict=True) if shown == real)
    assert revealed <= 0.4 * len(number)
    assert all(shown in ("*", real) for shown, real in zip(masked, number, strict=True))
