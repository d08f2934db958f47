"""A transfer through its route: four parties, one county, two provinces, the record moves."""

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.approvals import engine
from portal.approvals.models import Alert, CaseState, StepMode, StepState
from portal.errors import DomainError
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.notifications.models import InboxMessage
from portal.provinces.models import (
    OfficialCalendarDay,
    ProvinceRule,
    TimeoutPolicy,
    TransferRouteOrder,
    TransferSetting,
)
from portal.registry.models import HistoryKind, StudentHistory
from portal.registry.status import Status
from portal.transfers import service
from portal.transfers.models import ArchivedRecordIsReadOnly, TransferArchive
from tests.unit.transfers.conftest import upload_photo


def _apply(world, to_school, **extra):
    fields = {"reason": "family_moved", "evidence": [world.photo], **extra}
    return service.apply_for_transfer(world.child, world.guardian, to_school_id=to_school.id, **fields)


def _roles(case):
    return [(s.role, s.org_unit_id) for s in case.steps]


def test_full_journey_through_four_parties_moves_the_record_and_keeps_the_number(world):
    child, staff = world.child, world.staff
    number, original_class = child.student_number, child.class_name
    to_school = world.home.other_school
    case = _apply(world, to_school)
    assert _roles(case) == [
        ("receiving_school", to_school.id),
        ("receiving_county", world.home.other_county.id),
        ("sending_school", world.home.school.id),
        ("sending_county", world.home.county.id),
    ]
    assert child.status == Status.ATTENDING  # an application, not yet a transfer
    service.decide(case.steps[0].id, staff["other_county_school"], approve=True, grade=4, class_name="3班")
    assert child.status == Status.TRANSFERRING
    for step, key in zip(case.steps[1:], ["other_county", "sending_school", "sending_county"], strict=True):
        assert step.state == StepState.PENDING
        assert child.school_id == world.home.school.id  # nothing moves before the last party
        service.decide(step.id, staff[key], approve=True)
    assert case.state == CaseState.APPROVED
    assert (child.school_id, child.grade, child.class_name, child.status) == (
        to_school.id,
        4,
        "3班",
        Status.ATTENDING,
    )
    assert child.student_number == number
    entry = db.session.scalar(
        select(StudentHistory).where(
            StudentHistory.student_id == child.id, StudentHistory.kind == HistoryKind.TRANSFER
        )
    )
    assert entry.before == {
        "school_id": world.home.school.id,
        "school": world.home.school.name,
        "grade": 4,
        "class_name": original_class,
    }
    assert [a["role"] for a in entry.after["approvers"]] == [s.role for s in case.steps]
    assert all(a["state"] == "approved" and a["at"] for a in entry.after["approvers"])
    archive = db.session.scalar(select(TransferArchive).where(TransferArchive.case_id == case.id))
    assert archive.school_id == world.home.school.id
    assert archive.record["school_id"] == world.home.school.id
    assert archive.record["student_number"] == number
    assert [a.id for a in service.archives_of(staff["sending_school"])] == [archive.id]
    assert service.archives_of(staff["other_county_school"]) == []
    link = db.session.scalar(select(GuardianLink).where(GuardianLink.student_id == child.id))
    assert link.guardian_id == world.guardian.id and link.revoked_at is None
    told = db.session.scalars(
        select(InboxMessage.recipient_id).where(
            InboxMessage.kind == "transfer.completed_staff", InboxMessage.case_id == case.id
        )
    ).all()
    assert sorted(told) == sorted([staff["sending_school"].id, staff["other_county_school"].id])
    references = db.session.scalars(
        select(InboxMessage.params["reference"].as_string()).where(
            InboxMessage.kind == "transfer.completed_staff", InboxMessage.case_id == case.id
        )
    ).all()
    assert references == [case.reference, case.reference]  # one reference format for every kind
    assert service.progress_of(case).reference == case.reference


def test_both_schools_in_one_county_route_through_that_county_once(world):
    neighbour = world.staff["same_county_school"].org_unit
    case = _apply(world, neighbour)
    assert _roles(case) == [
        ("receiving_school", neighbour.id),
        ("sending_school", world.home.school.id),
        ("county", world.home.county.id),
    ]


def test_a_province_may_put_its_county_before_its_school(world):
    db.session.add(
        TransferSetting(province_id=world.home.province.id, route_order=TransferRouteOrder.COUNTY_FIRST)
    )
    case = _apply(world, world.home.other_school)
    assert [s.role for s in case.steps][2:] == ["sending_county", "sending_school"]


def test_cross_province_each_side_counts_on_its_own_calendar_with_provincial_steps(world):
    away, home = world.away, world.home
    for province in (away.province, home.province):
        db.session.add(TransferSetting(province_id=province.id, provincial_step=True))
    # The receiving province enters an extra official holiday after National Day 2025.
    db.session.add(
        OfficialCalendarDay(province_id=away.province.id, day=date(2025, 10, 9), is_working_day=False)
    )
    db.session.flush()
    friday = date(2025, 9, 26)  # just before National Day
    case = service.apply_for_transfer(
        world.child, world.guardian, to_school_id=away.school.id, reason="job_moved", today=friday
    )
    assert [(s.role, s.org_unit_id, s.province_id) for s in case.steps] == [
        ("receiving_school", away.school.id, away.province.id),
        ("receiving_county", away.county.id, away.province.id),
        ("receiving_province", away.province.id, away.province.id),
        ("handover", home.province.id, home.province.id),
        ("sending_province", home.province.id, home.province.id),
        ("sending_school", home.school.id, home.province.id),
        ("sending_county", home.county.id, home.province.id),
    ]
    assert case.steps[3].mode == StepMode.FILING
    # 10 working days after 26 September: 16 October nationally, a day later where the
    # province entered 9 October as a holiday.
    assert case.steps[0].due_on == date(2025, 10, 17)
    deciders = ["away_school", "away_county", "away_province", "home_province", "home_province"]
    for step, key in zip(case.steps[:5], deciders, strict=True):
        service.decide(step.id, world.staff[key], approve=True, class_name="1班", today=friday)
    assert case.steps[1].due_on == case.steps[2].due_on == date(2025, 10, 17)
    assert case.steps[3].due_on == case.steps[4].due_on == case.steps[5].due_on == date(2025, 10, 16)
    service.decide(case.steps[5].id, world.staff["sending_school"], approve=True)
    service.decide(case.steps[6].id, world.staff["sending_county"], approve=True)
    assert case.state == CaseState.APPROVED
    assert world.child.school_id == away.school.id


def test_rejection_ends_the_case_and_the_child_attends_the_sending_school_again(world):
    case = _apply(world, world.home.other_school)
    service.decide(case.steps[0].id, world.staff["other_county_school"], approve=True, class_name="1班")
    service.decide(case.steps[1].id, world.staff["other_county"], approve=True)
    with pytest.raises(DomainError) as refused:
        service.decide(case.steps[2].id, world.staff["sending_school"], approve=False)
    assert refused.value.code == "step.reason_required"
    service.decide(
        case.steps[2].id, world.staff["sending_school"], approve=False, reason="学籍信息核对不一致"
    )
    assert case.state == CaseState.REJECTED
    assert case.steps[2].reason == "学籍信息核对不一致"
    assert case.steps[3].state == StepState.SKIPPED
    assert (world.child.status, world.child.school_id) == (Status.ATTENDING, world.home.school.id)


def test_receiving_school_declines_the_application_with_a_reason(world):
    case = _apply(world, world.home.other_school)
    service.decide(case.steps[0].id, world.staff["other_county_school"], approve=False, reason="学位已满")
    assert case.state == CaseState.REJECTED
    assert world.child.status == Status.ATTENDING


def test_return_for_more_material_and_resubmit(world):
    case = _apply(world, world.home.other_school)
    engine.return_case(case.steps[0].id, world.staff["other_county_school"], missing="请补充居住证明")
    assert case.state == CaseState.RETURNED
    more = upload_photo(world.guardian)
    with pytest.raises(DomainError) as refused:  # somebody else's upload is not the family's material
        service.add_material(case.id, world.guardian, refs=[upload_photo(world.staff["sending_school"])])
    assert refused.value.code == "case.bad_evidence"
    service.add_material(case.id, world.guardian, note="已补充", refs=[more])
    assert case.state == CaseState.OPEN
    assert case.steps[0].state == StepState.PENDING
    assert case.payload["evidence"] == [world.photo, more]
    assert case.payload["resubmission_notes"] == ["已补充"]


def test_withdraw_until_a_party_approved(world):
    case = _apply(world, world.home.other_school)
    engine.withdraw(case.id, world.guardian)
    assert case.state == CaseState.WITHDRAWN
    assert world.child.status == Status.ATTENDING
    second = _apply(world, world.home.other_school)
    service.decide(second.steps[0].id, world.staff["other_county_school"], approve=True, class_name="1班")
    with pytest.raises(DomainError) as refused:
        engine.withdraw(second.id, world.guardian)
    assert refused.value.code == "case.cannot_withdraw"


def test_receiving_school_must_place_the_child_in_a_grade_it_teaches(world):
    case = _apply(world, world.home.other_school)
    registrar = world.staff["other_county_school"]
    with pytest.raises(DomainError) as refused:
        service.decide(case.steps[0].id, registrar, approve=True, grade=4, class_name="")
    assert refused.value.code == "transfer.class_required"
    with pytest.raises(DomainError) as refused:
        service.decide(case.steps[0].id, registrar, approve=True, grade=11, class_name="1班")
    assert refused.value.code == "transfer.bad_grade"


def test_paper_transfer_recorded_by_a_county_goes_the_same_route_marked_as_paper(world):
    county = world.staff["other_county"]
    case = service.record_paper_transfer(
        world.child.student_number,
        county,
        to_school_id=world.home.other_school.id,
        paper_reference="东教转〔2025〕17号",
        paper_date=date(2025, 3, 3),
        reason="family_moved",
    )
    assert case.payload["paper"] == {"reference": "东教转〔2025〕17号", "date": "2025-03-03"}
    assert [s.role for s in case.steps][0] == "receiving_school"
    assert world.child.status == Status.TRANSFERRING  # the child already moved (N16)
    with pytest.raises(DomainError) as refused:
        service.record_paper_transfer(
            "G" + "0" * 18,
            county,
            to_school_id=world.home.other_school.id,
            paper_reference="x",
            paper_date=date(2025, 3, 3),
            reason="family_moved",
        )
    assert refused.value.code == "student.not_found"


def test_a_school_registrar_cannot_record_a_paper_transfer(world):
    with pytest.raises(DomainError) as refused:
        service.record_paper_transfer(
            world.child.student_number,
            world.staff["other_county_school"],
            to_school_id=world.home.other_school.id,
            paper_reference="x",
            paper_date=date(2025, 3, 3),
            reason="family_moved",
        )
    assert refused.value.code == "transfer.paper_by_county"


@pytest.mark.parametrize("policy", [TimeoutPolicy.AUTO_APPROVE, TimeoutPolicy.FLAG_OVERDUE])
def test_timeout_under_each_policy(world, policy):
    province = world.home.province
    db.session.add(
        ProvinceRule(province_id=province.id, kind="transfer", step_working_days=20, timeout_policy=policy)
    )
    db.session.flush()
    start = date(2025, 9, 1)
    case = service.apply_for_transfer(
        world.child,
        world.guardian,
        to_school_id=world.home.other_school.id,
        reason="family_moved",
        today=start,
    )
    first = case.steps[0]
    assert (first.working_days, first.timeout_policy) == (20, policy)
    report = engine.process_timeouts(today=date(2025, 12, 1))
    if policy == TimeoutPolicy.AUTO_APPROVE:
        assert first.id in report.auto_approved
        assert first.state == StepState.TIMED_OUT
        assert first.state_enum.label  # "approved on timeout"
        assert world.child.status == Status.TRANSFERRING
        assert case.steps[1].state == StepState.PENDING
    else:
        assert report.flagged_overdue == [first.id]
        db.session.refresh(first)
        assert first.state == StepState.PENDING and first.overdue_since == date(2025, 12, 1)
        alert = db.session.scalar(select(Alert).where(Alert.step_id == first.id))
        assert alert.org_unit_id == world.home.other_county.id


def test_the_archived_copy_cannot_be_changed_or_deleted(world):
    case = _apply(world, world.home.other_school)
    service.decide(case.steps[0].id, world.staff["other_county_school"], approve=True, class_name="1班")
    for step, key in zip(case.steps[1:], ["other_county", "sending_school", "sending_county"], strict=True):
        service.decide(step.id, world.staff[key], approve=True)
    archive = db.session.scalar(select(TransferArchive).where(TransferArchive.case_id == case.id))
    archive.record = {**archive.record, "class_name": "改过的"}
    with pytest.raises(ArchivedRecordIsReadOnly):
        db.session.flush()
    db.session.rollback()


def test_the_archived_copy_is_refused_by_the_database_too(world):
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; SQLite relies on the ORM guard")
    case = _apply(world, world.home.other_school)
    service.decide(case.steps[0].id, world.staff["other_county_school"], approve=True, class_name="1班")
    for step, key in zip(case.steps[1:], ["other_county", "sending_school", "sending_county"], strict=True):
        service.decide(step.id, world.staff[key], approve=True)
    db.session.flush()
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    for statement in ("UPDATE transfer_archives SET record = '{}'", "DELETE FROM transfer_archives"):
        with pytest.raises(DBAPIError, match="read-only"), db.session.begin_nested():
            db.session.execute(text(statement))
    assert db.session.scalar(select(func.count()).select_from(TransferArchive)) == 1


def test_the_receiving_school_enters_an_application_a_colleague_reviews_it(world):
    with pytest.raises(DomainError) as refused:  # "entering" at the child's own school is no transfer
        service.enter_for_family(
            world.child.student_number, world.staff["sending_school"], reason="job_moved"
        )
    assert refused.value.code == "transfer.same_school"
    clerk = world.staff["other_county_school"]
    case = service.enter_for_family(world.child.student_number, clerk, reason="family_moved")
    assert case.steps[0].org_unit_id == world.home.other_school.id
    with pytest.raises(DomainError) as refused:
        service.decide(case.steps[0].id, clerk, approve=True, class_name="1班")
    assert refused.value.code == "step.requester_cannot_decide"
