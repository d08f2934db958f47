"""Who may see which student: the one place that decides (AH-28).

A guardian sees only children linked to them; staff see what lies under their
org unit. Anything outside answers "not found", never "forbidden", so that a
guessed id tells nothing.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.sql import ColumnElement

from portal.errors import NotFound
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.orgs.service import subtree_ids
from portal.registry.models import Student


def visible_students_condition(user) -> ColumnElement[bool]:
    """A WHERE condition on `Student` limiting rows to those `user` may see."""
    if user.is_staff:
        return Student.school_id.in_(subtree_ids(user.org_unit))
    linked = select(GuardianLink.student_id).where(
        GuardianLink.guardian_id == user.id, GuardianLink.revoked_at.is_(None)
    )
    return Student.id.in_(linked)


def visible_students(user) -> Select:
    return select(Student).where(visible_students_condition(user))


def get_visible_student(user, student_id: int) -> Student:
    """The student, if `user` may see them; otherwise NotFound."""
    student = db.session.scalar(visible_students(user).where(Student.id == student_id))
    if student is None:
        raise NotFound("student.not_found", _l("No such student."))
    return student


def can_act_for_unit(user, unit) -> bool:
    """Whether a staff `user` belongs to `unit` itself (approval steps are per unit)."""
    return user.is_staff and user.org_unit_id == unit.id
