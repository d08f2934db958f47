"""Corrections through their routes: each field kind, partial approval, return and resubmit,
rejection, key-field escalation, student numbers (N16), duplicates, and the key-field guard."""

import io
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from portal.accounts.models import Role
from portal.approvals.models import Case, CaseState, StepState
from portal.audit.models import AuditEvent
from portal.corrections import service
from portal.errors import Conflict, DomainError, NotFound, ValidationFailed
from portal.evidence.service import store_upload
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.registry.documents import DocumentType, Gender
from portal.registry.models import FormerStudentNumber, StudentHistory
from portal.registry.service import change_fields, enroll, search_students
from portal.registry.synthetic import make_j_number, make_l_number, make_resident_id
from tests import evidence_files
from tests.factories import (
    approved_correction,
    make_guardian,
    make_staff,
    make_student,
    make_tree,
    new_student,
)

BIRTH = date(2016, 3, 14)


@pytest.fixture
def world(app, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    tree = make_tree()
    people = {
        "guardian": make_guardian(),
        "clerk": make_staff(Role.SCHOOL_REGISTRAR, tree.school),
        "school": make_staff(Role.SCHOOL_REGISTRAR, tree.school),
        "county": make_staff(Role.COUNTY_REGISTRAR, tree.county),
        "other_school": make_staff(Role.SCHOOL_REGISTRAR, tree.other_school),
    }
    child = make_student(tree.school, birth=BIRTH)
    db.session.add(
        GuardianLink(guardian_id=people["guardian"].id, student_id=child.id, relation=Relation.MOTHER)
    )
    db.session.flush()
    return tree, people, child


def _photo(uploader) -> str:
    upload = FileStorage(io.BytesIO(evidence_files.jpeg_with_gps()), filename="hukou.jpg")
    return store_upload(upload, uploader=uploader).id


def _propose(student, requester, changes, *, evidence=True, key=None):
    refs = [_photo(requester)] if evidence else []
    return service.propose(student, requester, changes, reason="户口簿与学籍不一致", evidence=refs, key=key)


def _j_student(tree, *, birth=BIRTH, gender=Gender.MALE):
    data = replace(
        new_student(birth=birth, gender=gender),
        student_number=make_j_number("110105", birth, 321),
        document_type=DocumentType.OTHER,
        document_number="HK-PENDING-7",
    )
    return enroll(data, tree.school, None)


def _history(student) -> list[StudentHistory]:
    return list(
        db.session.scalars(
            select(StudentHistory).where(
                StudentHistory.student_id == student.id, StudentHistory.kind == "fields"
            )
        )
    )


# --- each field kind through its route -----------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"ethnicity": "03"}, {"hukou_region_code": "110108"}],
    ids=["ethnicity", "household region"],
)
def test_other_fields_go_to_the_school_alone(world, changes):
    tree, people, child = world
    case = _propose(child, people["guardian"], changes, evidence=False)
    assert [(s.role, s.org_unit_id) for s in case.steps] == [("school", tree.school.id)]
    assert case.payload["key"] is False
    service.decide(case.steps[0].id, people["school"], action="approve")
    assert case.state == CaseState.APPROVED
    for name, value in changes.items():
        assert getattr(child, name) == value
    assert _history(child)[-1].case_id == case.id


def _key_changes(child):
    female_id = make_resident_id("110105", date(2016, 3, 15), 40, Gender.FEMALE)
    return {
        "name": {"name": "李晓明"},
        "gender": {"gender": "2", "document_number": make_resident_id("110105", BIRTH, 40, Gender.FEMALE)},
        "birth_date": {
            "birth_date": "2016-03-15",
            "document_number": make_resident_id("110105", date(2016, 3, 15), 42, Gender.MALE),
        },
        "gender_and_birth_date": {"gender": "2", "birth_date": "2016-03-15", "document_number": female_id},
        "document_number": {"document_number": make_resident_id("110105", BIRTH, 44, Gender.MALE)},
    }


@pytest.mark.parametrize(
    "which", ["name", "gender", "birth_date", "gender_and_birth_date", "document_number"]
)
def test_key_fields_go_to_the_school_then_the_county_and_change_with_history(world, which):
    tree, people, child = world
    changes = _key_changes(child)[which]
    old_number = child.student_number
    case = _propose(child, people["guardian"], changes)
    assert [(s.role, s.org_unit_id) for s in case.steps] == [
        ("school", tree.school.id),
        ("county", tree.county.id),
    ]
    assert case.payload["key"] is True
    service.decide(case.steps[0].id, people["school"], action="approve")
    assert case.state == CaseState.OPEN and case.steps[1].state == StepState.PENDING
    assert child.name == "李小明"  # nothing changes before the route completes
    service.decide(case.steps[1].id, people["county"], action="approve")
    assert case.state == CaseState.APPROVED
    entry = _history(child)[-1]
    assert entry.case_id == case.id and entry.actor_id == people["county"].id
    for name, value in changes.items():
        stored = getattr(child, name)
        assert (stored.isoformat() if isinstance(stored, date) else stored) == value
        assert entry.after[name] == value
    if "document_number" in changes:  # a new resident ID number gives a new G number (N16)
        assert child.student_number == "G" + changes["document_number"]
        assert entry.before["student_number"] == old_number
    applied = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "correction:applied"))
    assert applied.data["approvers"] == [people["school"].id, people["county"].id]


def test_key_fields_need_evidence(world):
    _, people, child = world
    with pytest.raises(ValidationFailed) as refused:
        _propose(child, people["guardian"], {"name": "李晓明"}, evidence=False)
    assert refused.value.code == "correction.evidence_required"


# --- validated exactly as enrolment ------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"name": "李小明"}, "correction.nothing_changes"),
        ({"name": "  李 小明 "}, "correction.nothing_changes"),
        ({"document_number": "wrong"}, "document.bad_length"),
        ({"birth_date": "2016-02-30"}, "form.bad_date"),
        ({"birth_date": "2016-03-20"}, "document.birth_date_mismatch"),
        ({"gender": "2"}, "document.gender_mismatch"),
        ({"ethnicity": "99"}, "student.bad_ethnicity"),
        ({"hukou_region_code": "11A105"}, "student.bad_region"),
        ({"grade": "5"}, "correction.field_not_correctable"),
    ],
)
def test_a_proposal_is_checked_like_an_enrolment(world, changes, code):
    _, people, child = world
    with pytest.raises(DomainError) as refused:
        _propose(child, people["guardian"], changes)
    assert refused.value.code == code
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_letter_case_alone_is_not_a_correction(world):
    tree, people, _ = world
    child = make_student(tree.school, name="Anna Li")
    db.session.add(
        GuardianLink(guardian_id=people["guardian"].id, student_id=child.id, relation=Relation.MOTHER)
    )
    with pytest.raises(ValidationFailed) as refused:
        _propose(child, people["guardian"], {"name": "anna  LI"})
    assert refused.value.code == "correction.nothing_changes"


def test_a_guardian_of_another_child_cannot_propose(world):
    tree, _, _ = world
    stranger_child = make_student(tree.other_school)
    with pytest.raises(NotFound):
        _propose(stranger_child, make_guardian(), {"ethnicity": "03"}, evidence=False)


# --- deciding ------------------------------------------------------------------------------


def test_partial_approval_changes_only_the_approved_fields_and_skips_the_county(world):
    _, people, child = world
    case = _propose(child, people["guardian"], {"name": "李晓明", "ethnicity": "03"})
    with pytest.raises(ValidationFailed) as refused:
        service.decide(case.steps[0].id, people["school"], action="approve", fields=["ethnicity"])
    assert refused.value.code == "correction.decline_reason_required"
    service.decide(
        case.steps[0].id, people["school"], action="approve", fields=["ethnicity"], reason="户口簿照片不清晰"
    )
    assert case.state == CaseState.APPROVED
    assert [s.state for s in case.steps] == [StepState.APPROVED, StepState.SKIPPED]
    assert (child.name, child.ethnicity) == ("李小明", "03")
    assert case.payload["declined"] == {"name": {"reason": "户口簿照片不清晰", "role": "school"}}


def test_the_county_can_decline_a_field_the_school_approved(world):
    _, people, child = world
    case = _propose(child, people["guardian"], {"name": "李晓明", "hukou_region_code": "110108"})
    service.decide(case.steps[0].id, people["school"], action="approve")
    service.decide(
        case.steps[1].id, people["county"], action="approve", fields=["name"], reason="户籍地未变更"
    )
    assert case.state == CaseState.APPROVED
    assert (child.name, child.hukou_region_code) == ("李晓明", "110105")


def test_an_approved_part_must_make_a_valid_record_on_its_own(world):
    _, people, child = world
    changes = _key_changes(child)["birth_date"]
    case = _propose(child, people["guardian"], changes)
    with pytest.raises(ValidationFailed) as refused:  # the birth date without its ID number
        service.decide(
            case.steps[0].id, people["school"], action="approve", fields=["birth_date"], reason="x"
        )
    assert refused.value.code == "document.birth_date_mismatch"


def test_return_and_resubmit(world):
    _, people, child = world
    case = _propose(child, people["guardian"], {"name": "李晓明"})
    service.decide(case.steps[0].id, people["school"], action="return", reason="请上传户口簿本人页")
    assert case.state == CaseState.RETURNED
    with pytest.raises(ValidationFailed):
        service.resubmit(case.id, people["guardian"], note="", evidence=[])
    more = _photo(people["guardian"])
    service.resubmit(case.id, people["guardian"], note="已补充本人页", evidence=[more])
    assert case.state == CaseState.OPEN and case.steps[0].state == StepState.PENDING
    assert more in case.payload["evidence"] and case.payload["notes"] == ["已补充本人页"]
    service.decide(case.steps[0].id, people["school"], action="approve")
    service.decide(case.steps[1].id, people["county"], action="approve")
    assert child.name == "李晓明"


def test_rejection_needs_a_reason_and_changes_nothing(world):
    _, people, child = world
    case = _propose(child, people["guardian"], {"name": "李晓明"})
    with pytest.raises(ValidationFailed):
        service.decide(case.steps[0].id, people["school"], action="reject", reason="")
    service.decide(case.steps[0].id, people["school"], action="reject", reason="与户口簿不一致")
    assert case.state == CaseState.REJECTED and case.steps[1].state == StepState.SKIPPED
    assert child.name == "李小明" and _history(child) == []


def test_a_registrar_enters_a_paper_form_and_a_colleague_decides(world):
    _, people, child = world
    case = _propose(child, people["clerk"], {"name": "李晓明"})
    with pytest.raises(Conflict) as refused:
        service.decide(case.steps[0].id, people["clerk"], action="approve")
    assert refused.value.code == "step.requester_cannot_decide"
    with pytest.raises(NotFound):
        service.decide(case.steps[0].id, people["other_school"], action="approve")
    service.decide(case.steps[0].id, people["school"], action="approve")
    assert case.steps[1].state == StepState.PENDING


def test_a_double_submit_opens_one_case(world):
    _, people, child = world
    first = _propose(child, people["guardian"], {"ethnicity": "03"}, evidence=False, key="k" * 32)
    again = _propose(child, people["guardian"], {"ethnicity": "03"}, evidence=False, key="k" * 32)
    assert first.id == again.id
    with pytest.raises(Conflict) as refused:  # another submit while one is open
        _propose(child, people["guardian"], {"ethnicity": "04"}, evidence=False)
    assert refused.value.code == "case.conflicting_open_case"
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1


# --- student numbers (N16) ------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["J", "L"])
def test_a_checked_resident_id_turns_j_or_l_into_g_and_the_old_number_still_finds_the_student(world, prefix):
    tree, people, _ = world
    child = _j_student(tree)
    if prefix == "L":
        child.student_number = make_l_number("110105", BIRTH, 17)
        db.session.flush()
    db.session.add(
        GuardianLink(guardian_id=people["guardian"].id, student_id=child.id, relation=Relation.FATHER)
    )
    old = child.student_number
    resident = make_resident_id("110105", BIRTH, 46, Gender.MALE)
    case = _propose(child, people["guardian"], {"document_type": "1", "document_number": resident})
    assert case.payload["changes"]["student_number"] == "G" + resident
    service.decide(case.steps[0].id, people["school"], action="approve")
    service.decide(case.steps[1].id, people["county"], action="approve")
    assert child.student_number == "G" + resident
    assert _history(child)[-1].before["student_number"] == old
    former = db.session.scalar(select(FormerStudentNumber).where(FormerStudentNumber.student_id == child.id))
    assert (former.number, former.case_id) == (old, case.id)
    found = search_students(people["school"], old).students
    assert [s.id for s in found] == [child.id]
    assert search_students(people["other_school"], old).students == []  # still only within scope


def test_a_passport_never_yields_a_g_number(world):
    tree, people, _ = world
    child = _j_student(tree)
    db.session.add(
        GuardianLink(guardian_id=people["guardian"].id, student_id=child.id, relation=Relation.FATHER)
    )
    old = child.student_number
    case = _propose(child, people["guardian"], {"document_type": "A", "document_number": "E12345678"})
    assert "student_number" not in case.payload["changes"]
    service.decide(case.steps[0].id, people["school"], action="approve")
    service.decide(case.steps[1].id, people["county"], action="approve")
    assert (child.document_type, child.student_number) == ("A", old)


def test_a_g_number_is_never_replaced(world):
    _, people, child = world
    with pytest.raises(ValidationFailed) as refused:  # a G record cannot move to a passport
        _propose(child, people["guardian"], {"document_type": "A", "document_number": "E12345678"})
    assert refused.value.code == "student_number.g_needs_resident_id"
    j_number = make_j_number("110105", BIRTH, 555)
    with pytest.raises(Conflict) as refused:
        change_fields(child, {"student_number": j_number}, None, reason="", case=approved_correction(child))
    assert refused.value.code == "student_number.g_is_permanent"


def test_the_same_person_cannot_hold_two_records_across_document_types(world):
    tree, people, child = world
    other = _j_student(tree)
    db.session.add(
        GuardianLink(guardian_id=people["guardian"].id, student_id=other.id, relation=Relation.FATHER)
    )
    for changes in (
        {"document_type": "1", "document_number": child.document_number},  # same type
        {"document_number": child.document_number},  # same number, another type (Z)
    ):
        with pytest.raises(Conflict) as refused:
            _propose(other, people["guardian"], changes)
        assert refused.value.code == "student.duplicate_document"
    # Enrolment refuses it too.
    copy = replace(new_student(), document_type=DocumentType.OTHER, document_number=child.document_number)
    copy = replace(copy, student_number=make_j_number("110105", copy.birth_date, 900))
    with pytest.raises(Conflict):
        enroll(copy, tree.school, None)


def test_a_former_number_is_never_given_again(world):
    tree, people, _ = world
    child = _j_student(tree)
    old = child.student_number
    resident = make_resident_id("110105", BIRTH, 48, Gender.MALE)
    change_fields(
        child,
        {"document_type": "1", "document_number": resident, "student_number": "G" + resident},
        None,
        reason="",
        case=approved_correction(child),
    )
    data = replace(new_student(birth=BIRTH), student_number=old, document_type=DocumentType.OTHER)
    data = replace(data, document_number="OTHER-DOC-1")
    with pytest.raises(Conflict) as refused:
        enroll(data, tree.school, None)
    assert refused.value.code == "student.duplicate_student_number"


# --- the key-field guard: every other path refuses ------------------------------------------


def test_every_path_but_an_approved_correction_refuses_key_fields(world):
    tree, people, child = world
    other_child = make_student(tree.school)
    open_correction = _propose(child, people["guardian"], {"name": "王小明"})
    suspension = approved_correction(child)
    suspension.kind = "suspension"
    db.session.flush()
    for field, value in (
        ("name", "王小明"),
        ("gender", "2"),
        ("birth_date", date(2016, 3, 15)),
        ("document_type", "Z"),
        ("document_number", make_resident_id("110105", BIRTH, 50, Gender.MALE)),
        ("student_number", "G" + make_resident_id("110105", BIRTH, 50, Gender.MALE)),
    ):
        for case in (None, open_correction, suspension, approved_correction(other_child)):
            with pytest.raises(Conflict) as refused:
                change_fields(child, {field: value}, people["school"], reason="", case=case)
            assert refused.value.code == "student.key_field_needs_correction"
    assert child.name == "李小明" and _history(child) == []
    change_fields(child, {"class_name": "3班"}, people["school"], reason="分班")  # others still change
    assert child.class_name == "3班"
