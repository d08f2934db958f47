"""The registry's verbs: enroll a student, change a status, change fields, search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, or_, select

from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.database import read
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.identity.certificates import revoke_for_status_change
from portal.orgs.models import OrgLevel, OrgUnit
from portal.registry.codes import ETHNICITIES
from portal.registry.documents import (
    STUDENT_NUMBER_LENGTH,
    DocumentType,
    Gender,
    StudentNumberKind,
    validate_document,
    validate_student_number,
)
from portal.registry.models import (
    DuplicateReview,
    FormerStudentNumber,
    HistoryKind,
    Student,
    StudentHistory,
)
from portal.registry.status import Status, check_transition
from portal.security.scope import get_visible_student, visible_students, visible_students_condition

KEY_FIELDS = frozenset({"name", "gender", "birth_date", "document_type", "document_number"})
# Key fields, and the student number that follows the ID number, change only by applying an
# approved correction (AH-29, N16): `change_fields` refuses them on any other path.
GUARDED_FIELDS = KEY_FIELDS | {"student_number"}
CORRECTION_KIND = "correction"
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


def _refuse_duplicate_document(document_type: str, document_number: str, *, other_than=None) -> None:
    """One person, one record: the same number under ANY document type is the same person."""
    query = select(Student.id).where(Student.document_number == document_number)
    if other_than is not None:
        query = query.where(Student.id != other_than)
    if db.session.scalar(query.limit(1)):
        raise Conflict(
            "student.duplicate_document",
            _l("A registry record with this document number already exists (one person, one record)."),
        )


def _refuse_duplicate_student_number(student_number: str, *, other_than=None) -> None:
    """A number in use, or once used by another record (a former J or L number), is taken."""
    current = select(Student.id).where(Student.student_number == student_number)
    former = select(FormerStudentNumber.student_id).where(FormerStudentNumber.number == student_number)
    if other_than is not None:
        current = current.where(Student.id != other_than)
        former = former.where(FormerStudentNumber.student_id != other_than)
    if db.session.scalar(current.limit(1)) or db.session.scalar(former.limit(1)):
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
    if target != Status.ATTENDING:  # leaving attending: certificates stop being true at once
        revoke_for_status_change(locked, actor)


def change_fields(student: Student, changes: dict, actor, *, reason: str, case=None) -> None:
    """Change basic fields, keeping before and after (never for status: use change_status).

    Key fields (and the student number) only when `case` is an approved correction being
    applied (`portal/corrections`); every other caller is refused.
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed("student.field_not_editable", _l("This field cannot be changed here."))
    if set(changes) & GUARDED_FIELDS and not _is_approved_correction(case, student):
        raise Conflict(
            "student.key_field_needs_correction",
            _l(
                "Name, gender, date of birth, identity document and student number change only "
                "through an approved correction request that reaches the county."
            ),
        )
    locked = _lock(student)
    changes = _validated_changes(locked, changes)
    before = {name: _jsonable(getattr(locked, name)) for name in changes}
    if "student_number" in changes and locked.student_number != changes["student_number"]:
        db.session.add(
            FormerStudentNumber(
                student_id=locked.id, number=locked.student_number, case_id=getattr(case, "id", None)
            )
        )
    for name, value in changes.items():
        setattr(locked, name, value)
    after = {name: _jsonable(value) for name, value in changes.items()}
    _add_history(locked, HistoryKind.FIELDS, before, after, actor, reason, case)
    record_event(
        AuditTag.STUDENT_FIELDS_CHANGED, actor=actor, student=locked, case=case, fields=sorted(changes)
    )


def _is_approved_correction(case, student) -> bool:
    from portal.approvals.models import CaseState

    return (
        case is not None
        and case.kind == CORRECTION_KIND
        and case.state == CaseState.APPROVED
        and case.student_id == student.id
    )


def check_changes(student: Student, changes: dict) -> dict:
    """The changes, normalized, if the record they would produce passes every check that
    enrollment runs (and the student-number rules of N16); writes nothing."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed("student.field_not_editable", _l("This field cannot be changed here."))
    return _validated_changes(student, changes)


def _validated_changes(student: Student, changes: dict) -> dict:
    """The changes, normalized, if the record they produce passes every check enrollment does."""
    merged = {name: changes.get(name, getattr(student, name)) for name in NewStudent.__dataclass_fields__}
    fields = _validated_fields(NewStudent(**merged))
    if student.student_number.startswith(StudentNumberKind.G) and not fields["student_number"].startswith(
        StudentNumberKind.G
    ):
        raise Conflict(
            "student_number.g_is_permanent",
            _l("A student number starting with G is never replaced by a J or L number (N16)."),
        )
    if fields["document_number"] != student.document_number:
        _refuse_duplicate_document(fields["document_type"], fields["document_number"], other_than=student.id)
    if fields["student_number"] != student.student_number:
        _refuse_duplicate_student_number(fields["student_number"], other_than=student.id)
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


@cache
def _history_query() -> Select:
    """Built once (every record page shows the history); the student is bound per call."""
    return (
        select(StudentHistory)
        .where(StudentHistory.student_id == bindparam("student_id"))
        .order_by(StudentHistory.at.desc(), StudentHistory.id.desc())
    )


def history_of(student: Student) -> list[StudentHistory]:
    """The record's history, newest first."""
    return list(db.session.scalars(_history_query(), {"student_id": student.id}))


@dataclass(frozen=True)
class SearchPage:
    """One page of a search, and the cursors to the pages around it (keyset pagination)."""

    students: list  # `Student`s (search_students) or light rows (search_student_rows)
    has_next: bool
    has_previous: bool

    @property
    def next_cursor(self) -> int | None:
        """Pass as `after` for the next page: the last id shown."""
        return self.students[-1].id if self.has_next and self.students else None

    @property
    def previous_cursor(self) -> int | None:
        """Pass as `before` for the previous page: the first id shown."""
        return self.students[0].id if self.has_previous and self.students else None


def search_students(
    user,
    query: str = "",
    *,
    after: int | None = None,
    before: int | None = None,
    per_page: int = 20,
) -> SearchPage:
    """Students visible to staff `user`, by exact student number or name prefix (audited).

    Pages by keyset, in id order: `after` (the last id of the page before) or `before`
    (the first id of the page after), never by OFFSET, so page 5,000 costs what page 1
    does. The name prefix is served by the index on (school_id, name) with a pattern
    operator class.
    """
    return _search(user, visible_students(user), db.session.scalars, query, after, before, per_page)


def search_student_rows(
    user,
    query: str = "",
    *,
    after: int | None = None,
    before: int | None = None,
    per_page: int = 20,
) -> SearchPage:
    """`search_students` for the results page: the same rows, pages and audit event, each
    student a light row of what the list shows (`school_name` for the school) instead of a
    `Student` with its school: no objects to build for twenty rows that are only printed."""
    statement = (
        select(*_LIST_COLUMNS, OrgUnit.name.label("school_name"))
        .join(OrgUnit, OrgUnit.id == Student.school_id)
        .where(visible_students_condition(user))
    )
    return _search(user, statement, lambda s: read(db.session, s).all(), query, after, before, per_page)


_LIST_COLUMNS = (
    Student.id,
    Student.name,
    Student.student_number,
    Student.grade,
    Student.class_name,
    Student.status,
    Student.needs_review,
)


def _search(user, statement, run, query: str, after: int | None, before: int | None, per_page: int):
    """One keyset page of `statement` (students, or rows of their columns) filtered by
    `query`; `run` executes it. The search is audited with the ids shown."""
    query = query.strip()
    if query:
        by_name = Student.name.startswith(query, autoescape=True)
        if len(query) == STUDENT_NUMBER_LENGTH:  # only then can it be a student number
            number = query.upper()
            # A J or L number replaced by G still finds the student (N16).
            former = select(FormerStudentNumber.student_id).where(FormerStudentNumber.number == number)
            by_name = or_(Student.student_number == number, Student.id.in_(former), by_name)
        statement = statement.where(by_name)
    if before is not None:
        statement = statement.where(Student.id < before).order_by(Student.id.desc())
    else:
        if after is not None:
            statement = statement.where(Student.id > after)
        statement = statement.order_by(Student.id)
    rows = list(run(statement.limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    if before is not None:
        result = SearchPage(rows[::-1], has_next=True, has_previous=more)
    else:
        result = SearchPage(rows, has_next=more, has_previous=after is not None)
    record_event(
        AuditTag.STUDENT_SEARCHED,
        actor=user,
        shown=[s.id for s in result.students],
        **({"after": after} if after is not None else {}),
        **({"before": before} if before is not None else {}),
    )
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
