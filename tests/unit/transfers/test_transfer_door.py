"""Every refusal at the door, with its stable code, and the transfer windows (AH-25)."""

from datetime import date
from unittest import mock

import pytest
from sqlalchemy import func, select

from portal.approvals.models import Case
from portal.errors import DomainError
from portal.extensions import db
from portal.provinces.models import TransferPeriod, TransferSetting, TransferWindowMode
from portal.registry.service import change_status
from portal.registry.status import Status
from portal.transfers import service, windows
from tests.factories import make_guardian


def _refused(world, to_school_id, *, requester=None, **extra):
    fields = {"reason": "family_moved", **extra}
    before = db.session.scalar(select(func.count()).select_from(Case))
    with pytest.raises(DomainError) as refused:
        service.apply_for_transfer(
            world.child, requester or world.guardian, to_school_id=to_school_id, **fields
        )
    assert db.session.scalar(select(func.count()).select_from(Case)) == before  # nothing stored
    return refused.value.code


def test_a_transfer_already_open(world):
    service.apply_for_transfer(
        world.child, world.guardian, to_school_id=world.home.other_school.id, reason="family_moved"
    )
    assert _refused(world, world.away.school.id) == "transfer.already_open"


def test_a_status_that_does_not_allow_transfer(world):
    change_status(world.child, Status.SUSPENDED, None, reason="病休")
    assert _refused(world, world.home.other_school.id) == "transfer.status_not_allowed"


def test_the_same_school_a_wrong_stage_or_no_school(world):
    assert _refused(world, world.home.school.id) == "transfer.same_school"
    assert _refused(world, world.home.senior_school.id) == "transfer.wrong_stage"
    assert _refused(world, world.home.county.id) == "transfer.unknown_school"
    assert _refused(world, 0) == "transfer.unknown_school"


def test_reasons_and_evidence_are_checked(world):
    school = world.home.other_school.id
    assert _refused(world, school, reason="bored") == "transfer.reason_required"
    assert _refused(world, school, reason="other") == "transfer.reason_text_required"
    assert _refused(world, school, evidence=[""]) == "case.bad_evidence"
    assert _refused(world, school, evidence=["0" * 32]) == "case.bad_evidence"  # not an upload of theirs


def test_someone_not_linked_to_the_child_cannot_apply(world):
    assert _refused(world, world.home.other_school.id, requester=make_guardian()) == "student.not_found"
    sending = world.staff["sending_school"]  # only the receiving school enters a transfer
    assert (
        _refused(world, world.home.other_school.id, requester=sending) == "transfer.receiving_school_starts"
    )


def _dated_window(province, start, end):
    db.session.add(TransferSetting(province_id=province.id, window_mode=TransferWindowMode.DATES))
    db.session.add(TransferPeriod(province_id=province.id, kind="window", starts_on=start, ends_on=end))
    db.session.flush()


@pytest.mark.parametrize("side", ["receiving", "sending"])
def test_outside_the_window_of_either_province(world, side):
    province = world.away.province if side == "receiving" else world.home.province
    _dated_window(province, date(2025, 8, 25), date(2025, 9, 30))
    with mock.patch("portal.clock.today", return_value=date(2025, 11, 3)):
        assert _refused(world, world.away.school.id) == "transfer.outside_window"
    with mock.patch("portal.clock.today", return_value=date(2025, 9, 2)):
        case = service.apply_for_transfer(
            world.child, world.guardian, to_school_id=world.away.school.id, reason="job_moved"
        )
    assert case.id


def test_a_window_counted_in_working_days_from_term_dates(world):
    province = world.home.province
    db.session.add(
        TransferSetting(
            province_id=province.id, window_mode=TransferWindowMode.TERM_WORKING_DAYS, window_working_days=20
        )
    )
    db.session.add(
        TransferPeriod(
            province_id=province.id, kind="term", starts_on=date(2025, 9, 1), ends_on=date(2026, 1, 16)
        )
    )
    db.session.flush()
    # 20 working days from Monday 1 September 2025 (itself counted) end on Friday 26 September.
    # Counting back 20 from Friday 16 January 2026: New Year (1–3 January) does not count,
    # Sunday 4 January (a make-up working day) does, so that window opens on 19 December.
    assert windows.windows_of(province.id) == [
        (date(2025, 9, 1), date(2025, 9, 26)),
        (date(2025, 12, 19), date(2026, 1, 16)),
    ]
    assert windows.is_open_on(province.id, date(2025, 9, 26))
    assert not windows.is_open_on(province.id, date(2025, 10, 15))
    assert windows.is_open_on(province.id, date(2026, 1, 5))


def test_a_paper_transfer_is_not_held_to_the_window(world):
    _dated_window(world.home.province, date(2025, 8, 25), date(2025, 9, 30))
    with mock.patch("portal.clock.today", return_value=date(2025, 11, 3)):
        case = service.record_paper_transfer(
            world.child.student_number,
            world.staff["other_county"],
            to_school_id=world.home.other_school.id,
            paper_reference="东教转〔2025〕18号",
            paper_date=date(2025, 10, 20),
            reason="family_moved",
        )
    assert case.payload["paper"]["reference"] == "东教转〔2025〕18号"
