"""The registry's verbs: enroll a student, change a status, change fields, search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.orgs.models import OrgLevel
from portal.registry.codes import ETHNICITIES
from portal.registry.documents import (
    DocumentType,
    Gender,
    validate_document,
    validate_student_number,
)
from portal.registry.models import DuplicateReview, HistoryKind, Student, StudentHistory
from portal.registry.status import Status, check_transition
from portal.security.scope import get_visible_student, visible_students

KEY_FIELDS = frozenset({"name", "gender", "birth_date", "document_type", "document_number"})
EDITABLE_FIELDS = KEY_FIELDS | {
    "student_number",  # a J or L number becomes G; the old one stays in the history (N16)
    "ethnicity",
    "hukou_region_code",
    "grade",
    "class_name",
}


@dataclass(frozen=True)
class NewStudent:
    student_number: str
    document_type: DocumentType
    document_number: str
    name: str
    gender: Gender
    birth_date: date
    ethnicity: str
    hukou_region_code: str
    grade: int
    class_name: str
    enrolled_on: date


def enroll(data: NewStudent, school, actor, *, reason: str = "") -> Student:
    """Create a registry record after validation and duplicate detection (M-9)."""
    fields = _validated_fields(data)
    _refuse_duplicate_document(fields["document_type"], fields["document_number"])
    _refuse_duplicate_student_number(fields["student_number"])
    if school.level != OrgLevel.SCHOOL:
        raise ValidationFailed("student.bad_school", _l("Students are enrolled at a school."))
    student = Student(school=school, status=Status.ATTENDING, **fields)
    db.session.add(student)
    db.session.flush()
    _flag_possible_duplicates(student, actor)
    _add_history(student, HistoryKind.CREATED, {}, {"status": Status.ATTENDING}, actor, reason)
    record_event(AuditTag.STUDENT_CREATED, actor=actor, student=student)
    return student


def _validated_fields(data: NewStudent) -> dict:
    name = data.name.strip()
    if not 1 <= len(name) <= 50:
        raise ValidationFailed("student.bad_name", _l("Please enter the student's name."))
    if data.ethnicity not in ETHNICITIES:
        raise ValidationFailed("student.bad_ethnicity", _l("Unknown ethnicity code."))
    if not (data.hukou_region_code.isdigit() and len(data.hukou_region_code) == 6):
        raise ValidationFailed("student.bad_region", _l("The household region code has 6 digits."))
    if not 1 <= data.grade <= 12:
        raise ValidationFailed("student.bad_grade", _l("Grade must be between 1 and 12."))
    number = validate_document(
        data.document_type, data.document_number, birth_date=data.birth_date, gender=data.gender
    )
    student_number = data.student_number.strip().upper()
    validate_student_number(
        student_number,
        birth_date=data.birth_date,
        document_type=data.document_type,
        document_number=number,
    )
    return {
        "student_number": student_number,
        "document_type": str(data.document_type),
        "document_number": number,
        "name": name,
        "gender": str(data.gender),
        "birth_date": data.birth_date,
        "ethnicity": data.ethnicity,
        "hukou_region_code": data.hukou_region_code,
        "grade": data.grade,
        "class_name": data.class_name.strip(),
        "enrolled_on": data.enrolled_on,
    }


def _refuse_duplicate_document(document_type: str, document_number: str) -> None:
    exists = db.session.scalar(
        select(Student.id).where(
            Student.document_type == document_type, Student.document_number == document_number
        )
    )
    if exists:
        raise Conflict(
            "student.duplicate_document",
            _l("A registry record with this document number already exists (one person, one record)."),
        )


def _refuse_duplicate_student_number(student_number: str) -> None:
    if db.session.scalar(select(Student.id).where(Student.student_number == student_number)):
        raise Conflict("student.duplicate_student_number", _l("This student number is taken."))


def _flag_possible_duplicates(student: Student, actor) -> None:
    """Same name, birth date and gender: maybe the same child twice; a person must look."""
    similar = db.session.scalars(
        select(Student.id).where(
            Student.name == student.name,
            Student.birth_date == student.birth_date,
            Student.gender == student.gender,
            Student.id != student.id,
        )
    ).all()
    for other_id in similar:
        db.session.add(DuplicateReview(student_id=student.id, similar_student_id=other_id))
    if similar:
        student.needs_review = True
        record_event(AuditTag.STUDENT_DUPLICATE_FLAGGED, actor=actor, student=student, similar=list(similar))


def change_status(student: Student, target: Status, actor, *, reason: str, case=None) -> None:
    """Move a record to another status, if the transition table allows it."""
    locked = _lock(student)
    current = locked.status_enum
    check_transition(current, target, grade=locked.grade)
    locked.status = target
    _add_history(locked, HistoryKind.STATUS, {"status": current}, {"status": target}, actor, reason, case)
    record_event(
        AuditTag.STUDENT_STATUS_CHANGED,
        actor=actor,
        student=locked,
        case=case,
        before=str(current),
        after=str(target),
    )


def change_fields(student: Student, changes: dict, actor, *, reason: str, case=None) -> None:
    """Change basic fields, keeping before and after (never for status: use change_status)."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed("student.field_not_editable", _l("This field cannot be changed here."))
    locked = _lock(student)
    changes = _validated_changes(locked, changes)
    before = {name: _jsonable(getattr(locked, name)) for name in changes}
    for name, value in changes.items():
        setattr(locked, name, value)
    after = {name: _jsonable(value) for name, value in changes.items()}
    _add_history(locked, HistoryKind.FIELDS, before, after, actor, reason, case)
    record_event(
        AuditTag.STUDENT_FIELDS_CHANGED, actor=actor, student=locked, case=case, fields=sorted(changes)
    )


def _validated_changes(student: Student, changes: dict) -> dict:
    """The changes, normalized, if the record they produce passes every check enrollment does."""
    merged = {name: changes.get(name, getattr(student, name)) for name in NewStudent.__dataclass_fields__}
    fields = _validated_fields(NewStudent(**merged))
    document = (fields["document_type"], fields["document_number"])
    if document != (student.document_type, student.document_number):
        _refuse_duplicate_document(*document)
    if fields["student_number"] != student.student_number:
        _refuse_duplicate_student_number(fields["student_number"])
    return {name: fields[name] for name in changes}


def _lock(student: Student) -> Student:
    return db.session.scalar(
        select(Student)
        .where(Student.id == student.id)
        .with_for_update(of=Student)
        .execution_options(populate_existing=True)
    )


def _jsonable(value):
    return value.isoformat() if isinstance(value, date) else value


def _add_history(student, kind, before, after, actor, reason, case=None) -> None:
    db.session.add(
        StudentHistory(
            student_id=student.id,
            kind=kind,
            before=before,
            after=after,
            reason=reason or "",
            actor_id=getattr(actor, "id", None),
            case_id=getattr(case, "id", None),
        )
    )


def history_of(student: Student) -> list[StudentHistory]:
    """The record's history, newest first."""
    return list(
        db.session.scalars(
            select(StudentHistory)
            .where(StudentHistory.student_id == student.id)
            .order_by(StudentHistory.at.desc(), StudentHistory.id.desc())
        )
    )


@dataclass(frozen=True)
class SearchPage:
    students: list[Student]
    page: int
    has_next: bool


def search_students(user, query: str = "", *, page: int = 1, per_page: int = 20) -> SearchPage:
    """Students visible to staff `user`, by exact student number or name prefix (audited)."""
    statement = visible_students(user)
    query = query.strip()
    if query:
        statement = statement.where(
            or_(
                Student.student_number == query.upper(),
                Student.name.startswith(query, autoescape=True),
            )
        )
    page = max(page, 1)
    rows = db.session.scalars(
        statement.order_by(Student.id).limit(per_page + 1).offset((page - 1) * per_page)
    ).all()
    result = SearchPage(list(rows[:per_page]), page, len(rows) > per_page)
    record_event(AuditTag.STUDENT_SEARCHED, actor=user, shown=[s.id for s in result.students], page=page)
    return result


def read_student(user, student_id: int) -> Student:
    """A staff member opens a record: only within their scope, and audited."""
    student = get_visible_student(user, student_id)
    record_event(AuditTag.STUDENT_VIEWED, actor=user, student=student)
    return student


def reveal_document_number(user, student_id: int) -> Student:
    """A staff member asks to see the full document number: a separate, audited act."""
    student = get_visible_student(user, student_id)
    record_event(AuditTag.STUDENT_DOCUMENT_REVEALED, actor=user, student=student)
    return student
