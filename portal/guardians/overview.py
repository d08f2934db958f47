"""What a guardian's pages show, assembled in a bounded number of queries."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import selectinload

from portal import clock
from portal.approvals.models import Case, Step
from portal.database import read
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.orgs.models import OrgUnit
from portal.provinces.rules import shown_calendar
from portal.registry.models import Student, grade_label
from portal.registry.service import history_of
from portal.registry.status import Status
from portal.security.scope import SCHOOL_ONLY

# The guardian's pages are the most requested ones: their statements are built once
# (building one costs about as much as running it), with the ids bound per request.


def _linked_children(query: Select) -> Select:
    """`query` narrowed to the guardian's live links, oldest link first."""
    return (
        query.join(GuardianLink, GuardianLink.student_id == Student.id)
        .where(GuardianLink.guardian_id == bindparam("guardian_id"), GuardianLink.revoked_at.is_(None))
        .order_by(GuardianLink.created_at, GuardianLink.id)
    )


@cache
def _children_query() -> Select:
    return _linked_children(select(Student).options(SCHOOL_ONLY))


class ChildCard(NamedTuple):
    """What the guardian home shows of a child: a plain row, read-only, no ORM object."""

    id: int
    name: str
    status: str
    grade: int
    class_name: str
    school_name: str

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def grade_label(self) -> str:
        return grade_label(self.grade)


@cache
def _cards_query() -> Select:
    columns = (Student.id, Student.name, Student.status, Student.grade, Student.class_name, OrgUnit.name)
    return _linked_children(select(*columns).join(OrgUnit, OrgUnit.id == Student.school_id))


@cache
def _cases_query() -> Select:
    return (
        select(Case)
        .where(Case.student_id == bindparam("student_id"))
        .options(selectinload(Case.steps).joinedload(Step.org_unit))
        .order_by(Case.opened_at.desc())
    )


def children_of(guardian) -> list[Student]:
    """The guardian's linked children, school loaded with them, oldest link first."""
    return list(db.session.scalars(_children_query(), {"guardian_id": guardian.id}))


def child_cards(guardian) -> list[ChildCard]:
    """The guardian home's children as plain rows (the page only reads them): the columns it
    shows, the school's name joined, with no ORM entity built or kept in the session."""
    rows = read(db.session, _cards_query(), {"guardian_id": guardian.id})
    return [ChildCard._make(row) for row in rows]


def child_overview(student: Student) -> dict:
    """The record, its open cases with deadlines, and its history."""
    cases = list(db.session.scalars(_cases_query(), {"student_id": student.id}))
    open_cases = [case for case in cases if case.state_enum.is_live]  # open or returned
    calendar = shown_calendar(open_cases[0].province_id) if open_cases else None
    return {
        "student": student,
        "open_cases": open_cases,
        "closed_cases": [case for case in cases if not case.state_enum.is_live],
        "history": history_of(student),
        "calendar": calendar,
        "today": clock.today(),
    }
