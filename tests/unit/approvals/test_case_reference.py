"""Every case's reference has one format, from one function; a transfer's older ZX reference
(quoted to families, kept in sent messages) still finds its case."""

from datetime import UTC, datetime

import pytest

from portal.approvals.models import case_id_from_reference, case_reference


def test_one_format_for_every_kind():
    assert case_reference(123, datetime(2026, 3, 1, tzinfo=UTC)) == "XJ-2026-000123"
    assert case_reference(1234567, datetime(2026, 3, 1, tzinfo=UTC)) == "XJ-2026-1234567"


@pytest.mark.parametrize(
    ("typed", "case_id"),
    [
        ("XJ-2026-000123", 123),
        (" xj-2026-000123 ", 123),  # as typed on a phone
        ("XJ-2026-1234567", 1234567),
        ("ZX20260000123", 123),  # a transfer's reference before the formats were one
        ("zx2026 0000123", 123),
        ("ZX2026000012", None),  # one digit short
        ("ZX-2026-000123", None),
        ("XJ-26-000123", None),
        ("XJ-2026-", None),
        ("AB-2026-000123", None),
        ("", None),
        (None, None),
    ],
)
def test_a_typed_reference_finds_its_case_id(typed, case_id):
    assert case_id_from_reference(typed) == case_id


def test_a_reference_round_trips():
    assert case_id_from_reference(case_reference(42, datetime(2025, 12, 31, tzinfo=UTC))) == 42
