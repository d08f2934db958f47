"""Who looked at a child's record: the family's view of the audit trail (PIPL, DOMAIN §5).

Units and roles, never staff names; the family's own reads are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.approvals.kinds import case_kind_label
from portal.approvals.models import Case
from portal.audit.models import AuditEvent
from portal.audit.tags import AuditTag
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.notifications.messages import register_message
from portal.notifications.service import notify
from portal.orgs.models import OrgLevel, OrgUnit
from portal.registry.models import Student

PAGE_SIZE = 20

ACTION_LABELS = {
    AuditTag.STUDENT_VIEWED: _l("Opened the record"),
    AuditTag.STUDENT_DOCUMENT_REVEALED: _l("Viewed the full document number"),
    AuditTag.STUDENT_CREATED: _l("Created the record"),
    AuditTag.STUDENT_STATUS_CHANGED: _l("Changed the registry status"),
    AuditTag.STUDENT_FIELDS_CHANGED: _l("Changed details of the record"),
    AuditTag.STUDENT_DUPLICATE_FLAGGED: _l("Flagged a possible duplicate record"),
    AuditTag.BINDING_CODE_ISSUED: _l("Issued a binding code for a guardian"),
    AuditTag.BINDING_CODE_REVOKED: _l("Revoked a binding code"),
    AuditTag.GUARDIAN_LINKED: _l("Linked a guardian"),
    AuditTag.GUARDIAN_LINK_REVOKED: _l("Removed a guardian link"),
    AuditTag.CASE_OPENED: _l("Opened a request"),
    AuditTag.STEP_APPROVED: _l("Approved a step of a request"),
    AuditTag.STEP_REJECTED: _l("Rejected a step of a request"),
    AuditTag.CASE_APPROVED: _l("Approved a request"),
    AuditTag.CASE_REJECTED: _l("Rejected a request"),
    AuditTag.STEP_OVERDUE: _l("Marked a step of a request as overdue"),
    AuditTag.STEP_TIMED_OUT: _l("Decided a step of a request when its deadline passed"),
}
OTHER_ACTION = _l("Processed the record")

REASON_LABELS = {
    AuditTag.STUDENT_VIEWED: _l("Staff record page"),
    AuditTag.STUDENT_DOCUMENT_REVEALED: _l("Checking the document against a paper copy"),
    AuditTag.STUDENT_CREATED: _l("Enrollment"),
    AuditTag.BINDING_CODE_ISSUED: _l("Linking a guardian"),
    AuditTag.BINDING_CODE_REVOKED: _l("Linking a guardian"),
    AuditTag.GUARDIAN_LINKED: _l("Linking a guardian"),
    AuditTag.GUARDIAN_LINK_REVOKED: _l("Linking a guardian"),
}
OTHER_REASON = _l("Registry work")
AUTOMATIC = _l("The portal (automatic)")

OUTSIDE_LOOK = register_message(
    "oversight.outside_look",
    subject=_l("A unit outside your child's school and county used the record"),
    body=_l("%(unit)s (%(role)s): %(action)s. Reason: %(reason)s. See the access log for details."),
)


@dataclass(frozen=True)
class AccessEntry:
    id: int
    at: datetime
    unit: str
    unit_level: str
    role: str
    action: str
    reason: str


def _reason(tag: str, case_kind: str | None) -> str:
    if case_kind:
        return str(_l("Request: %(kind)s", kind=case_kind_label(case_kind)))
    return str(REASON_LABELS.get(tag, OTHER_REASON))


def _entry(event_id, at, tag, role, unit_name, unit_level, case_kind) -> AccessEntry:
    if role is None:
        unit, level, role_label = str(AUTOMATIC), "", ""
    else:
        unit, level, role_label = unit_name, OrgLevel(unit_level).label, Role(role).label
    return AccessEntry(
        id=event_id,
        at=at,
        unit=unit,
        unit_level=level,
        role=role_label,
        action=str(ACTION_LABELS.get(tag, OTHER_ACTION)),
        reason=_reason(tag, case_kind),
    )


def _entries_query():
    return (
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.tag,
            User.role,
            OrgUnit.name,
            OrgUnit.level,
            Case.kind,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(OrgUnit, OrgUnit.id == User.org_unit_id)
        .outerjoin(Case, Case.id == AuditEvent.case_id)
        # Staff and the portal itself; never the family's own reads.
        .where((User.role.is_(None)) | (User.role != Role.GUARDIAN))
    )


def access_log(student: Student, *, before: int | None = None, limit: int = PAGE_SIZE):
    """Newest first, by keyset on the event id: entries older than `before`, and the next cursor."""
    query = _entries_query().where(AuditEvent.student_id == student.id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = db.session.execute(query.order_by(AuditEvent.id.desc()).limit(limit + 1)).all()
    entries = [_entry(*row) for row in rows[:limit]]
    return entries, (entries[-1].id if len(rows) > limit else None)


# Telling the family when a unit outside the school and county used the record. Called by the
# chain job with each batch it links (portal/audit/jobs.py), so each entry is seen once, in
# the same transaction that chains it.


def _is_outside(actor_unit: OrgUnit, student: Student) -> bool:
    county = student.school.ancestor_at(OrgLevel.COUNTY)
    home = county.path if county is not None else student.school.path
    return not actor_unit.path.startswith(home)


def notify_outside_looks(event_ids: list[int]) -> int:
    """Send each linked guardian one message per unit and child for these entries; returns how many."""
    rows = db.session.execute(
        select(AuditEvent.id, AuditEvent.student_id, AuditEvent.tag, User, Case.kind)
        .join(User, User.id == AuditEvent.actor_id)
        .outerjoin(Case, Case.id == AuditEvent.case_id)
        .where(AuditEvent.id.in_(event_ids), AuditEvent.student_id.is_not(None), User.role != Role.GUARDIAN)
        .order_by(AuditEvent.id)
    ).all()
    seen: set[tuple[int, int]] = set()
    sent = 0
    for _event_id, student_id, tag, actor, case_kind in rows:
        student = db.session.get(Student, student_id)
        key = (student_id, actor.org_unit_id)
        if key in seen or student is None or not _is_outside(actor.org_unit, student):
            continue
        seen.add(key)
        sent += _tell_guardians(student, actor, tag, case_kind)
    return sent


def _tell_guardians(student: Student, actor: User, tag: str, case_kind: str | None) -> int:
    guardians = db.session.scalars(
        select(User)
        .join(GuardianLink, GuardianLink.guardian_id == User.id)
        .where(GuardianLink.student_id == student.id, GuardianLink.revoked_at.is_(None))
    ).all()
    with force_locale("zh_Hans"):
        params = {
            "unit": actor.org_unit.name,
            "role": actor.role_enum.label,
            "action": str(ACTION_LABELS.get(tag, OTHER_ACTION)),
            "reason": _reason(tag, case_kind),
        }
    for guardian in guardians:
        notify(
            guardian,
            OUTSIDE_LOOK.code,
            student=student,
            url=f"/children/{student.id}/access-log",
            **params,
        )
    return len(guardians)
