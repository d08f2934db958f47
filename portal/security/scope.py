"""Who may see which student: the one place that decides (AH-28).

A guardian sees only children linked to them; staff see what lies under their
org unit. Anything outside answers "not found", never "forbidden", so that a
guessed id tells nothing.
"""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import ARRAY, Integer, Select, any_, bindparam, literal, select
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import ColumnElement

from portal.approvals.models import LIVE_CASE_STATES, Case, Step
from portal.errors import NotFound
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.orgs.models import OrgUnit
from portal.orgs.service import school_ids_under, subtree_ids
from portal.registry.models import Student

# Student.school is joined eagerly, and OrgUnit.parent three levels deep after it; a page
# of students needs the school's name only. Its county and city still load on first use.
SCHOOL_ONLY = joinedload(Student.school, innerjoin=True).lazyload(OrgUnit.parent)

# Above this many schools (a large city, a province) a subquery on the unit tree plans
# better than a list of ids.
SCOPE_ARRAY_LIMIT = 2000


def visible_students_condition(user) -> ColumnElement[bool]:
    """A WHERE condition on `Student` limiting rows to those `user` may see."""
    if user.is_staff:
        return _schools_condition(user.org_unit_id)
    linked = select(GuardianLink.student_id).where(
        GuardianLink.guardian_id == user.id, GuardianLink.revoked_at.is_(None)
    )
    return Student.id.in_(linked)


def _schools_condition(unit_id: int) -> ColumnElement[bool]:
    """`school_id = ANY(:ids)`: one bound array, so the statement plans the same for every unit."""
    ids = school_ids_under(unit_id)
    if len(ids) == 1:
        return Student.school_id == ids[0]
    if len(ids) > SCOPE_ARRAY_LIMIT:
        return Student.school_id.in_(subtree_ids(db.session.get(OrgUnit, unit_id)))
    if db.session.get_bind().dialect.name == "postgresql":
        return Student.school_id == any_(literal(list(ids), ARRAY(Integer)))
    return Student.school_id.in_(ids)  # SQLite has no arrays


def visible_students(user) -> Select:
    """The students `user` may see, each with its school (not the school's whole org tree)."""
    return select(Student).where(visible_students_condition(user)).options(SCHOOL_ONLY)


def get_visible_student(user, student_id: int) -> Student:
    """The student, if `user` may see them; otherwise NotFound.

    Staff of a unit that owns a step of a live case about the student may also read the
    record, for the life of the case, even outside their subtree (the reading is audited
    by the caller, as every reading is).
    """
    if user.is_staff:
        student = db.session.scalar(visible_students(user).where(Student.id == student_id))
        if student is None and _owns_a_step_about(user, student_id):
            student = db.session.get(Student, student_id)
    else:  # the child page: one statement, built once
        student = db.session.scalar(_linked_child_query(), {"guardian_id": user.id, "student_id": student_id})
    if student is None:
        raise NotFound("student.not_found", _l("No such student."))
    return student


def _owns_a_step_about(user, student_id: int) -> bool:
    return (
        db.session.scalar(
            select(Step.id)
            .join(Case, Case.id == Step.case_id)
            .where(
                Case.student_id == student_id,
                Case.state.in_(list(LIVE_CASE_STATES)),
                Step.org_unit_id == user.org_unit_id,
            )
            .limit(1)
        )
        is not None
    )


@cache
def _linked_child_query() -> Select:
    """`visible_students` for a guardian, for one student, with the ids bound per call."""
    linked = select(GuardianLink.student_id).where(
        GuardianLink.guardian_id == bindparam("guardian_id"), GuardianLink.revoked_at.is_(None)
    )
    return (
        select(Student)
        .where(Student.id.in_(linked), Student.id == bindparam("student_id"))
        .options(SCHOOL_ONLY)
    )


def can_act_for_unit(user, unit) -> bool:
    """Whether a staff `user` belongs to `unit` itself (approval steps are per unit)."""
    return user.is_staff and user.org_unit_id == unit.id
