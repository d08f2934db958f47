"""What a guardian's pages show, assembled in a bounded number of queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import clock
from portal.approvals.models import Case, CaseState, Step
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.provinces.rules import working_calendar
from portal.registry.models import Student
from portal.registry.service import history_of


def children_of(guardian) -> list[Student]:
    """The guardian's linked children, school loaded with them, oldest link first."""
    return list(
        db.session.scalars(
            select(Student)
            .join(GuardianLink, GuardianLink.student_id == Student.id)
            .where(GuardianLink.guardian_id == guardian.id, GuardianLink.revoked_at.is_(None))
            .order_by(GuardianLink.created_at, GuardianLink.id)
        )
    )


def child_overview(student: Student) -> dict:
    """The record, its open cases with deadlines, and its history."""
    cases = list(
        db.session.scalars(
            select(Case)
            .where(Case.student_id == student.id)
            .options(selectinload(Case.steps).joinedload(Step.org_unit))
            .order_by(Case.opened_at.desc())
        )
    )
    open_cases = [case for case in cases if case.state == CaseState.OPEN]
    calendar = working_calendar(open_cases[0].province_id) if open_cases else None
    return {
        "student": student,
        "open_cases": open_cases,
        "closed_cases": [case for case in cases if case.state != CaseState.OPEN],
        "history": history_of(student),
        "calendar": calendar,
        "today": clock.today(),
    }
