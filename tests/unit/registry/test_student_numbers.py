"""National student numbers (学籍号): G, J and L kinds, and their masking."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import clock
from portal.errors import ValidationFailed
from portal.registry.documents import (
    DocumentType,
    Gender,
    StudentNumberKind,
    mod11_2_check_character,
    validate_student_number,
)
from portal.registry.masking import mask_document_number, mask_student_number
from portal.registry.synthetic import make_j_number, make_l_number, make_resident_id

# No example database: it would write .hypothesis/ into the shared tree.
PROPERTY = settings(database=None, deadline=None, max_examples=150)

ID_NUMBER = "11010519491231002X"
G_NUMBER = "G" + ID_NUMBER
J_NUMBER = make_j_number("340104", date(2015, 9, 1), 123)
L_NUMBER = make_l_number("340104", date(2015, 9, 1), 42)

regions = st.sampled_from(["110105", "310104", "340104", "440305", "510107", "650102"])
birth_dates = st.dates(min_value=date(1990, 1, 1), max_value=clock.today())


def refusal(number, **kwargs) -> ValidationFailed:
    """The ValidationFailed raised for this student number, message fully rendered."""
    with pytest.raises(ValidationFailed) as caught:
        validate_student_number(number, **kwargs)
    error = caught.value
    assert error.message and "%(" not in error.message
    return error


def with_check(first17: str) -> str:
    """Append the correct check character."""
    return first17 + mod11_2_check_character(first17)


# --- the three kinds ----------------------------------------------------------------


def test_made_numbers_have_the_documented_shape():
    assert "J34010420150901123" + J_NUMBER[-1] == J_NUMBER and len(J_NUMBER) == 19
    assert J_NUMBER[-1] == mod11_2_check_character(J_NUMBER[1:18])
    assert L_NUMBER == "L340104201509010042"


def test_each_kind_is_recognized():
    assert validate_student_number(G_NUMBER) is StudentNumberKind.G
    assert validate_student_number(J_NUMBER) is StudentNumberKind.J
    assert validate_student_number(L_NUMBER) is StudentNumberKind.L


def test_input_is_normalized():
    assert validate_student_number(" g110105 19491231002x") is StudentNumberKind.G


@pytest.mark.parametrize("number", [ID_NUMBER, G_NUMBER + "1", "", "G"])
def test_wrong_length(number):
    assert refusal(number).code == "student_number.bad_length"


@pytest.mark.parametrize("prefix", ["A", "X", "1", "Z"])
def test_wrong_prefix(prefix):
    assert refusal(prefix + ID_NUMBER).code == "student_number.bad_prefix"


# --- G ------------------------------------------------------------------------------


def test_g_with_wrong_check_character():
    assert refusal("G110105194912310021").code == "student_number.bad_check_character"


def test_g_with_impossible_date():
    number = "G" + with_check("110105" + "20150230" + "123")
    assert refusal(number).code == "student_number.bad_birth_date"


def test_g_with_future_date():
    number = "G" + make_resident_id("110105", clock.today() + timedelta(days=3), 1, Gender.MALE)
    assert refusal(number).code == "student_number.bad_birth_date"


def test_g_with_letters_in_the_wrong_place():
    assert refusal("G1101051949123100AX").code == "student_number.bad_format"


def test_g_with_hong_kong_region():
    number = "G" + make_resident_id("810000", date(2012, 1, 1), 5, Gender.MALE)
    assert refusal(number).code == "student_number.bad_region"


def test_g_must_embed_the_students_resident_id():
    assert validate_student_number(
        G_NUMBER, document_type=DocumentType.RESIDENT_ID, document_number="11010519491231002x"
    )
    other_id = make_resident_id("110105", date(1949, 12, 31), 5, Gender.MALE)
    error = refusal(G_NUMBER, document_type="1", document_number=other_id)
    assert error.code == "student_number.document_mismatch"


def test_g_is_never_built_from_another_document_type():
    """N16: a passport, permit or residence card never yields a G number."""
    for document_type in (DocumentType.PASSPORT, DocumentType.HONG_KONG, DocumentType.PERMANENT_RESIDENCE):
        with pytest.raises(ValidationFailed) as refused:
            validate_student_number(G_NUMBER, document_type=document_type, document_number="E12345678")
        assert refused.value.code == "student_number.g_needs_resident_id"


# --- J and L ------------------------------------------------------------------------


def test_j_with_wrong_check_character():
    broken = J_NUMBER[:18] + ("0" if J_NUMBER[18] != "0" else "1")
    assert refusal(broken).code == "student_number.bad_check_character"


def test_j_with_impossible_date_or_region():
    assert refusal("J" + with_check("340104" + "20150931" + "123")).code == ("student_number.bad_birth_date")
    assert refusal(make_j_number("820000", date(2015, 9, 1), 1)).code == ("student_number.bad_region")


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("L340104201502290042", "student_number.bad_birth_date"),  # 2015 is no leap year
        ("L34010420150901004X", "student_number.bad_format"),  # L numbers have no check
        ("L3401042015090100A2", "student_number.bad_format"),
        ("L810000201509010042", "student_number.bad_region"),
    ],
)
def test_l_refusals(number, code):
    assert refusal(number).code == code


def test_l_with_future_date():
    number = make_l_number("340104", clock.today() + timedelta(days=1), 1)
    assert refusal(number).code == "student_number.bad_birth_date"


@pytest.mark.parametrize("number", [G_NUMBER, J_NUMBER, L_NUMBER])
def test_birth_date_agreement(number):
    embedded = date(1949, 12, 31) if number is G_NUMBER else date(2015, 9, 1)
    assert validate_student_number(number, birth_date=embedded)
    error = refusal(number, birth_date=embedded + timedelta(days=1))
    assert error.code == "student_number.birth_date_mismatch"


# --- properties ---------------------------------------------------------------------


@given(
    region=regions,
    birth=birth_dates,
    sequence=st.integers(0, 999),
    gender=st.sampled_from(list(Gender)),
    serial=st.integers(0, 9999),
)
@PROPERTY
def test_generated_numbers_validate(region, birth, sequence, gender, serial):
    id_number = make_resident_id(region, birth, sequence, gender)
    g_kind = validate_student_number(
        "G" + id_number,
        birth_date=birth,
        document_type=DocumentType.RESIDENT_ID,
        document_number=id_number,
    )
    assert g_kind is StudentNumberKind.G
    j_number = make_j_number(region, birth, sequence)
    assert validate_student_number(j_number, birth_date=birth) is StudentNumberKind.J
    l_number = make_l_number(region, birth, serial)
    assert validate_student_number(l_number, birth_date=birth) is StudentNumberKind.L


@given(
    region=regions,
    birth=birth_dates,
    sequence=st.integers(0, 999),
    index=st.integers(min_value=1, max_value=18),
    replacement=st.sampled_from("0123456789X"),
)
@PROPERTY
def test_one_character_corruption_of_a_j_number_is_refused(region, birth, sequence, index, replacement):
    # Only the 18-character body is corrupted: turning the J into a G yields a
    # well-formed G number, which is caught elsewhere (against the ID document).
    number = make_j_number(region, birth, sequence)
    corrupted = number[:index] + replacement + number[index + 1 :]
    if corrupted == number:
        return
    with pytest.raises(ValidationFailed) as caught:
        validate_student_number(corrupted)
    assert caught.value.code in {
        "student_number.bad_check_character",
        "student_number.bad_format",
    }


# --- masking ------------------------------------------------------------------------


def test_mask_g_number_like_the_id_it_embeds():
    assert mask_student_number(G_NUMBER) == "G110***********002X"
    assert mask_student_number(G_NUMBER)[1:] == mask_document_number(ID_NUMBER)


def test_mask_unexpected_values_as_documents():
    assert mask_student_number("ABC") == mask_document_number("ABC")
    assert mask_student_number("") == ""


@given(region=regions, birth=birth_dates, serial=st.integers(0, 9999), kind=st.sampled_from("GJL"))
@PROPERTY
def test_mask_student_number_hides_the_body(region, birth, serial, kind):
    if kind == "L":
        number = make_l_number(region, birth, serial)
    else:
        number = kind + make_resident_id(region, birth, serial % 1000, Gender.MALE)
    masked = mask_student_number(number)
    assert len(masked) == len(number) and masked[0] == kind
    # The kind letter is not personal data; the 18-character body is what must stay hidden.
    revealed = sum(1 for s, r in zip(masked[1:], number[1:], strict=True) if s == r)
    assert revealed <= 0.4 * 18
    assert masked[7:15] == "*" * 8  # the birth date never shows
