"""The student registry record (学籍) and its history."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.orgs.models import OrgUnit
from portal.registry.status import Status

GRADE_LABELS = {
    1: _l("Grade 1"),
    2: _l("Grade 2"),
    3: _l("Grade 3"),
    4: _l("Grade 4"),
    5: _l("Grade 5"),
    6: _l("Grade 6"),
    7: _l("Junior 1"),
    8: _l("Junior 2"),
    9: _l("Junior 3"),
    10: _l("Senior 1"),
    11: _l("Senior 2"),
    12: _l("Senior 3"),
}


def grade_label(grade: int) -> str:
    return str(GRADE_LABELS.get(grade, grade))


class Student(db.Model):
    """One person's registry record: one person, one record (M-9, M-12)."""

    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("document_type", "document_number"),
        # Name-prefix search within a unit's schools (staff search); keyset-paged by id.
        Index(
            "ix_students_school_id_name", "school_id", "name", postgresql_ops={"name": "varchar_pattern_ops"}
        ),
        Index("ix_students_identity", "name", "birth_date", "gender"),
        # Name-prefix search (LIKE '王%'): PostgreSQL needs pattern ops outside the C locale.
        Index("ix_students_name_prefix", "name", postgresql_ops={"name": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_number: Mapped[str] = mapped_column(String(19), unique=True)
    document_type: Mapped[str] = mapped_column(String(1))
    document_number: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(2))
    hukou_region_code: Mapped[str] = mapped_column(String(6))
    school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    grade: Mapped[int] = mapped_column(SmallInteger)
    class_name: Mapped[str] = mapped_column(String(20))
    enrolled_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=Status.ATTENDING)
    # The day a temporary status ends (a suspension's planned return, M-16); None otherwise.
    status_until: Mapped[date | None] = mapped_column(Date)
    needs_review: Mapped[bool] = mapped_column(default=False)
    # The registry photo (学籍照片): the sha256 of its bytes in the evidence storage
    # (portal/evidence/photo.py); changed only by an approved correction (portal/registry/photo.py).
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Optimistic locking: two registrars saving the same record cannot silently overwrite.
    version: Mapped[int] = mapped_column(default=1)

    school: Mapped[OrgUnit] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:  # no name or document number: reprs end up in logs
        return f"<Student {self.id}>"

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def grade_label(self) -> str:
        return grade_label(self.grade)


class HistoryKind(enum.StrEnum):
    CREATED = "created"
    STATUS = "status"
    FIELDS = "fields"
    TRANSFER = "transfer"  # school, grade and class changed by a completed transfer (M-15)


class StudentHistory(db.Model):
    """One change to a record: before, after, who, when, why."""

    __tablename__ = "student_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    before: Mapped[dict] = mapped_column(JSON, default=dict)
    after: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FormerStudentNumber(db.Model):
    """A student number the record used to have (J or L before its G number, N16).

    Search by an old number still finds the student; no new record may take it.
    """

    __tablename__ = "former_student_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    number: Mapped[str] = mapped_column(String(19), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DuplicateReview(db.Model):
    """A new record that looks like an existing person (same name, birth date, gender)."""

    __tablename__ = "duplicate_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    similar_student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
