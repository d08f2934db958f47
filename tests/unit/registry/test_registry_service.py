"""Enrolling, duplicate detection, status and field changes with history."""

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.registry.documents import DocumentType, Gender
from portal.registry.models import DuplicateReview, Student, StudentHistory
from portal.registry.service import change_fields, change_status, enroll, history_of
from portal.registry.status import Status
from portal.registry.synthetic import make_resident_id
from tests.factories import approved_correction, make_student, make_tree, new_student, registrar_for


@pytest.fixture
def tree(app):
    return make_tree()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_enroll_keeps_the_record_and_a_created_entry(tree):
    registrar = registrar_for(tree)
    student = make_student(tree.school, registrar)
    assert student.status == Status.ATTENDING
    [entry] = history_of(student)
    assert (entry.kind, entry.actor_id, entry.after) == ("created", registrar.id, {"status": "attending"})


def test_same_document_number_is_refused_and_nothing_is_written(tree):
    data = new_student(sequence=41)
    enroll(data, tree.school, None)
    before = _count(Student)
    with pytest.raises(Conflict) as refused:
        enroll(data, tree.other_school, None)
    assert refused.value.code == "student.duplicate_document"
    assert _count(Student) == before


def test_same_name_birth_date_and_gender_is_flagged_for_review(tree):
    first = make_student(tree.school, name="王芳", gender=Gender.FEMALE, sequence=10)
    second = make_student(tree.other_school, name="王芳", gender=Gender.FEMALE, sequence=12)
    assert second.needs_review and not first.needs_review
    review = db.session.scalar(select(DuplicateReview).where(DuplicateReview.student_id == second.id))
    assert review.similar_student_id == first.id


def test_a_wrong_check_character_is_refused_before_anything_is_written(tree):
    good = new_student(sequence=77)
    wrong_check = good.document_number[:-1] + ("0" if good.document_number[-1] != "0" else "1")
    bad = new_student(sequence=77).__class__(**{**good.__dict__, "document_number": wrong_check})
    with pytest.raises(ValidationFailed) as refused:
        enroll(bad, tree.school, None)
    assert refused.value.code == "document.bad_check_character"
    assert _count(Student) == 0


def test_document_gender_must_agree_with_the_record(tree):
    number = make_resident_id("110105", date(2016, 3, 14), 11, Gender.MALE)
    data = new_student(gender=Gender.FEMALE)
    data = data.__class__(**{**data.__dict__, "document_number": number, "student_number": "G" + number})
    with pytest.raises(ValidationFailed) as refused:
        enroll(data, tree.school, None)
    assert refused.value.code == "document.gender_mismatch"


def test_a_passport_holder_is_not_forced_into_the_resident_id_shape(tree):
    data = new_student()
    data = data.__class__(
        **{
            **data.__dict__,
            "document_type": DocumentType.PASSPORT,
            "document_number": "E12345678",
            "student_number": "L110105201603140001",
        }
    )
    assert enroll(data, tree.school, None).document_number == "E12345678"


def test_status_change_records_history_and_audit(tree):
    registrar = registrar_for(tree)
    student = make_student(tree.school, registrar)
    change_status(student, Status.SUSPENDED, registrar, reason="illness")
    assert student.status == Status.SUSPENDED
    latest = history_of(student)[0]
    assert (latest.before, latest.after, latest.reason) == (
        {"status": "attending"},
        {"status": "suspended"},
        "illness",
    )
    tags = db.session.scalars(select(AuditEvent.tag).where(AuditEvent.student_id == student.id)).all()
    assert "student:status_changed" in tags


def test_illegal_status_change_leaves_record_and_history_unchanged(tree):
    student = make_student(tree.school, grade=5)
    entries = len(history_of(student))
    with pytest.raises(Conflict) as refused:
        change_status(student, Status.WITHDRAWN, None, reason="")
    assert refused.value.code == "status.withdrawal_in_compulsory_education"
    assert student.status == Status.ATTENDING
    assert len(history_of(student)) == entries


def test_field_change_keeps_before_and_after(tree):
    student = make_student(tree.school, grade=4)
    change_fields(student, {"class_name": "5班", "grade": 5}, None, reason="new year")
    entry = db.session.scalar(
        select(StudentHistory).where(StudentHistory.student_id == student.id, StudentHistory.kind == "fields")
    )
    assert entry.before == {"class_name": "2班", "grade": 4}
    assert entry.after == {"class_name": "5班", "grade": 5}


def test_status_cannot_be_changed_as_a_field(tree):
    student = make_student(tree.school)
    with pytest.raises(ValidationFailed) as refused:
        change_fields(student, {"status": "graduated"}, None, reason="")
    assert refused.value.code == "student.field_not_editable"


def test_a_key_field_change_is_checked_like_an_enrollment_and_refusal_changes_nothing(tree):
    student = make_student(tree.school, birth=date(2016, 3, 14))
    wrong_check = student.document_number[:-1] + ("0" if student.document_number[-1] != "0" else "1")
    entries = len(history_of(student))
    for changes, code in (
        ({"document_number": wrong_check}, "document.bad_check_character"),
        ({"birth_date": date(2016, 3, 15)}, "document.birth_date_mismatch"),
        ({"gender": Gender.FEMALE}, "document.gender_mismatch"),
        ({"grade": 13}, "student.bad_grade"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            change_fields(student, changes, None, reason="correction", case=approved_correction(student))
        assert refused.value.code == code
    assert len(history_of(student)) == entries


def test_a_corrected_id_number_needs_the_matching_g_number(tree):
    student = make_student(tree.school, birth=date(2016, 3, 14))
    corrected = make_resident_id("340102", date(2016, 3, 14), 88, Gender.MALE)
    approved = approved_correction(student)
    with pytest.raises(ValidationFailed) as refused:
        change_fields(student, {"document_number": corrected}, None, reason="户籍更正", case=approved)
    assert refused.value.code == "student_number.document_mismatch"
    change_fields(
        student,
        {"document_number": corrected, "student_number": "g" + corrected},
        None,
        reason="户籍更正",
        case=approved,
    )
    assert (student.document_number, student.student_number) == (corrected, "G" + corrected)


def test_a_correction_cannot_take_another_persons_document_number(tree):
    first = make_student(tree.school)
    second = make_student(tree.school)
    taken = {"document_number": first.document_number, "student_number": "G" + first.document_number}
    with pytest.raises(Conflict) as refused:
        change_fields(second, taken, None, reason="", case=approved_correction(second))
    assert refused.value.code == "student.duplicate_document"
